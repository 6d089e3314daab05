using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// -client-ca and -client-auth: a client certificate that chains to one of the -client-ca roots and is valid now
/// names its tenant by its subject CN. The name must still be a valid key name in the key set, so removing the
/// key in Consul also shuts out the certificate. Under require, Kestrel ends the handshake of a client without
/// such a certificate; under optional, one that does not verify counts as no certificate.
/// </summary>
internal sealed class ClientCertificates(X509Certificate2Collection roots)
{
    private const string ItemKey = "polymur.client-certificate-tenant";

    public static ClientCertificates? From(string? caPath)
    {
        if (caPath is null)
            return null;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caPath);
        return new ClientCertificates(roots);
    }

    /// <summary>A chain to one of the roots, valid now (the chain checks the dates too).</summary>
    public bool Verify(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // client authentication
        return chain.Build(certificate);
    }

    /// <summary>The tenant the connection's verified certificate names, or null (none, or not verified).</summary>
    public string? TenantOf(HttpContext context)
    {
        var certificate = context.Connection.ClientCertificate;
        if (certificate is null)
            return null;
        // Verified once per connection: h2 streams and keep-alive requests share the answer.
        var items = context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionItemsFeature>()?.Items;
        if (items is not null && items.TryGetValue(ItemKey, out var cached))
            return (string?)cached;
        string? name = Verify(certificate) ? certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) : null;
        if (items is not null)
            items[ItemKey] = name;
        return name;
    }
}
