using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Polymur.Gateway.Tests.Support;

/// <summary>A self-signed certificate for 127.0.0.1, written as PEM files like an operator's -cert and -key.</summary>
public sealed class TestCertificate : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pgw-cert-").FullName;

    /// <param name="loopbackAddress">Whether 127.0.0.1 is among its names (localhost always is).</param>
    public TestCertificate(bool loopbackAddress = true)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=polymur-gateway-test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        if (loopbackAddress)
            san.AddIpAddress(System.Net.IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        CertPath = Path.Combine(_dir, "cert.pem");
        KeyPath = Path.Combine(_dir, "key.pem");
        File.WriteAllText(CertPath, cert.ExportCertificatePem());
        File.WriteAllText(KeyPath, key.ExportPkcs8PrivateKeyPem());
    }

    public string CertPath { get; }

    public string KeyPath { get; }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
