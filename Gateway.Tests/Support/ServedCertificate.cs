using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Polymur.Gateway.Tests.Support;

/// <summary>What a listener serves to a fresh handshake: the way a reload is seen from outside.</summary>
internal static class ServedCertificate
{
    public static async Task<string> SerialAsync(string httpsAddress)
    {
        var uri = new Uri(httpsAddress);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", uri.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync("127.0.0.1");
        return new X509Certificate2(tls.RemoteCertificate!).SerialNumber;
    }
}
