using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// TLS to a Graphite daemon (<c>tls://host:port</c>), verified against the system's roots or -destination-ca, with
/// the host name checked and sent as SNI. A failed handshake or verification is a failed connect: the writer
/// counts the destination as down (its data spools) and logs it once per outage; each one is also counted.
/// TLS hides how much of a failed write the peer took, so a failed send reports nothing taken and the writer
/// sends it all again: delivered twice rather than lost. The peer's TCP acknowledges ciphertext: each flushed
/// write records where its plaintext and its ciphertext end, and plaintext counts as acknowledged up to the last
/// write whose ciphertext is acknowledged whole.
/// </summary>
internal sealed class TlsTransport(DestinationAddress address, TimeSpan dialTimeout, X509Certificate2Collection? roots, DestinationCounters counters) : IOutputTransport
{
    public async ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel)
    {
        var socket = await TcpTransport.DialAsync(address, dialTimeout, cancel);
        var wire = new CountingStream(new NetworkStream(socket, ownsSocket: true));
        var stream = new SslStream(wire, leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(dialTimeout);
        try
        {
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = address.Host,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = roots is null ? null : Verify,
            }, timeout.Token);
            return new Connection(socket, wire, stream);
        }
        catch (Exception e)
        {
            await stream.DisposeAsync();
            if (e is OperationCanceledException && cancel.IsCancellationRequested)
                throw;
            counters.AddTlsFailure();
            throw e is OperationCanceledException
                ? new TimeoutException($"TLS handshake timed out after {dialTimeout.TotalSeconds:0.#}s")
                : new AuthenticationException($"TLS handshake failed: {(e.InnerException ?? e).Message}", e);
        }
    }

    // -destination-ca: a chain to one of its roots, and the name the certificate was asked for.
    private bool Verify(object sender, X509Certificate? certificate, X509Chain? _, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots!);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate));
    }

    private sealed class Connection : IOutputConnection
    {
        private readonly Socket _socket;
        private readonly CountingStream _wire;
        private readonly SslStream _stream;
        private readonly Queue<(long PlainEnd, long WireEnd)> _flushed = new();
        private long _sent;
        private long _acknowledged;
        private long _wireAcknowledged;

        public Connection(Socket socket, CountingStream wire, SslStream stream)
        {
            _socket = socket;
            _wire = wire;
            _stream = stream;
            Closed = WatchForCloseAsync();
        }

        // Plaintext up to the last flushed write whose ciphertext the peer acknowledged whole.
        public Acknowledgement ReadAcknowledged()
        {
            long acked = DestinationSocket.BytesAcked(_socket);
            if (acked >= 0)
                _wireAcknowledged = Math.Clamp(acked - 1, _wireAcknowledged, _wire.Written); // the SYN counts one byte
            else if (!OperatingSystem.IsLinux())
                _wireAcknowledged = _wire.Written;
            while (_flushed.TryPeek(out var write) && write.WireEnd <= _wireAcknowledged)
            {
                _acknowledged = write.PlainEnd;
                _flushed.Dequeue();
            }
            return new(_acknowledged, _wireAcknowledged);
        }

        public void Reset()
        {
            try
            {
                _socket.LingerState = new LingerOption(true, 0);
                _socket.Close();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        public Task Closed { get; }

        public string? CloseError { get; private set; }

        public async ValueTask<SendResult> SendAsync(IList<ArraySegment<byte>> buffers)
        {
            try
            {
                foreach (var buffer in buffers)
                    await _stream.WriteAsync(buffer);
                await _stream.FlushAsync();
                long sent = 0;
                foreach (var buffer in buffers)
                    sent += buffer.Count;
                _sent += sent;
                _flushed.Enqueue((_sent, _wire.Written));
                return new SendResult(sent, null);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or AuthenticationException)
            {
                return new SendResult(0, e.Message);
            }
        }

        public void Abort()
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }

        // A Graphite daemon never sends: a completed read means it closed (or the TLS session ended).
        private async Task WatchForCloseAsync()
        {
            var buffer = new byte[256];
            try
            {
                while (await _stream.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException or AuthenticationException or InvalidOperationException)
            {
                CloseError = (e as SocketException ?? e.InnerException as SocketException)?.SocketErrorCode.ToString() ?? e.GetType().Name;
            }
        }

        // close_notify, then FIN after the data, a moment for the peer to close, then dispose.
        public async ValueTask DisposeAsync()
        {
            try
            {
                await _stream.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(2));
                _socket.Shutdown(SocketShutdown.Send);
                await Closed.WaitAsync(TimeSpan.FromSeconds(2));
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or TimeoutException or InvalidOperationException)
            {
            }
            await _stream.DisposeAsync();
        }
    }
}
