using System.Formats.Asn1;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;

namespace Polymur.Gateway.Ingest;

/// <summary>
/// -client-ca and -client-auth: a client certificate that chains to one of the -client-ca roots and is valid now
/// names its tenant by its subject CN. The chain may pass through intermediates the client sends in the handshake,
/// as TLS clients expect; those are never trusted as roots, only the -client-ca certificates are. A subject with
/// more than one CN names no tenant (which one would it be?), so it is refused like one that does not verify. The
/// name must still be a valid key name in the key set, so removing the key in Consul also shuts out the
/// certificate. Under require, Kestrel ends the handshake of a client without such a certificate; under optional,
/// one that does not verify counts as no certificate.
/// </summary>
internal sealed class ClientCertificates(X509Certificate2Collection roots)
{
    private const string ItemKey = "polymur.client-certificate-tenant";
    private const string CommonName = "2.5.4.3", ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    // What the handshake found, for the requests that come after it: the certificate the handshake checked is the
    // instance the connection then carries, and its entry goes with it.
    private readonly ConditionalWeakTable<X509Certificate2, Verdict> _verdicts = new();

    private sealed record Verdict(string? Tenant);

    public static ClientCertificates? From(string? caPath)
    {
        if (caPath is null)
            return null;
        var roots = new X509Certificate2Collection();
        roots.ImportFromPem(Primitives.BoundedFile.ReadText(caPath));
        return new ClientCertificates(roots);
    }

    /// <summary>
    /// In the handshake (Kestrel's ClientCertificateValidation): <paramref name="presented"/> is the chain the TLS
    /// stack built, whose ExtraStore holds the certificates the client sent after its own. True when it verifies.
    /// </summary>
    public bool Check(X509Certificate2 certificate, X509Chain? presented)
    {
        string? tenant = TenantIfVerified(certificate, presented?.ChainPolicy.ExtraStore);
        _verdicts.AddOrUpdate(certificate, new Verdict(tenant));
        return tenant is not null;
    }

    /// <summary>The tenant the certificate names, when it has one CN and chains to a root, valid now; else null.</summary>
    public string? TenantIfVerified(X509Certificate2 certificate, X509Certificate2Collection? intermediates = null)
    {
        if (SingleCommonName(certificate) is not { Length: > 0 } name)
            return null;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        // Only to find a path: a certificate here is never an anchor under CustomRootTrust.
        if (intermediates is not null)
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ClientAuthentication));
        return chain.Build(certificate) ? name : null;
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
        string? name = _verdicts.TryGetValue(certificate, out var verdict) ? verdict.Tenant : TenantIfVerified(certificate);
        if (items is not null)
            items[ItemKey] = name;
        return name;
    }

    // The one CN of the subject; null when it has none or more than one (also inside a multi-valued RDN, CN=a+CN=b).
    private static string? SingleCommonName(X509Certificate2 certificate)
    {
        int count = 0;
        foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
            count += rdn.HasMultipleElements ? CommonNamesIn(rdn.RawData) : rdn.GetSingleElementType().Value == CommonName ? 1 : 0;
        // With exactly one CN, the simple name is that CN.
        return count == 1 ? certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) : null;
    }

    private static int CommonNamesIn(ReadOnlyMemory<byte> rdn)
    {
        try
        {
            int count = 0;
            var set = new AsnReader(rdn, AsnEncodingRules.DER).ReadSetOf(skipSortOrderValidation: true);
            while (set.HasData)
            {
                var attribute = set.ReadSequence();
                if (attribute.ReadObjectIdentifier() == CommonName)
                    count++;
            }
            return count;
        }
        catch (AsnContentException)
        {
            return 2; // undecodable: not one clear CN
        }
    }
}
