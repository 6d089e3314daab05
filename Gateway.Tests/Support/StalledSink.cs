using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Polymur.Gateway.Tests.Support;

/// <summary>
/// A destination that accepts connections and reads nothing until told to: its socket buffers fill. With a
/// certificate it speaks TLS: it completes the handshake, then reads nothing.
/// </summary>
public sealed class StalledSink : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly List<Socket> _accepted = [];
    private readonly Task _accepting;
    private readonly TaskCompletionSource _resume = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly X509Certificate2? _certificate;
    private long _lines;

    /// <param name="port">0: any free port.</param>
    public StalledSink(TestCertificate? tls = null, int port = 0)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        if (tls is not null)
            _certificate = X509Certificate2.CreateFromPemFile(tls.CertPath, tls.KeyPath);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public long Lines => Interlocked.Read(ref _lines);

    /// <summary>Starts reading (and counting lines) on every connection.</summary>
    public void Resume() => _resume.TrySetResult();

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync();
                socket.ReceiveBufferSize = 64 * 1024;
                lock (_accepted)
                    _accepted.Add(socket);
                _ = ReadLaterAsync(socket);
            }
        }
        catch (Exception)
        {
        }
    }

    private async Task ReadLaterAsync(Socket socket)
    {
        var buffer = new byte[1 << 16];
        try
        {
            Stream stream = new NetworkStream(socket, ownsSocket: false);
            if (_certificate is not null)
            {
                var tls = new SslStream(stream);
                await tls.AuthenticateAsServerAsync(_certificate);
                stream = tls;
            }
            await _resume.Task;
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
                Interlocked.Add(ref _lines, buffer.AsSpan(0, n).Count((byte)'\n'));
        }
        catch (Exception)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        lock (_accepted)
        {
            foreach (var s in _accepted)
                s.Dispose();
        }
        await _accepting;
    }
}
