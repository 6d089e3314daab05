using System.Net;
using System.Net.Sockets;
using Polymur.Gateway.Configuration;

namespace Polymur.Gateway.Outputs;

/// <summary>
/// Plaintext TCP to a Graphite daemon. The name is resolved on every connect, so DNS changes apply. The
/// destination timeout bounds the connect, and is the socket's TCP_USER_TIMEOUT and keepalive.
/// </summary>
internal sealed class TcpTransport(DestinationAddress address, TimeSpan timeout) : IOutputTransport
{
    private static readonly TimeSpan GracefulCloseWait = TimeSpan.FromSeconds(2);

    public async ValueTask<IOutputConnection> ConnectAsync(CancellationToken cancel) =>
        new Connection(await DialAsync(address, timeout, cancel));

    /// <summary>A connected socket to the address (resolved now), within the timeout, set to give up on a dead peer after it.</summary>
    public static async Task<Socket> DialAsync(DestinationAddress address, TimeSpan dialTimeout, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(dialTimeout);
        IPAddress[] addresses = IPAddress.TryParse(address.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(address.Host, timeout.Token);
        if (addresses.Length == 0)
            throw new SocketException((int)SocketError.HostNotFound);

        var socket = new Socket(addresses[0].AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            DestinationSocket.Configure(socket, dialTimeout);
            await socket.ConnectAsync(new IPEndPoint(addresses[0], address.Port), timeout.Token);
            return socket;
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"connect timed out after {dialTimeout.TotalSeconds:0.#}s");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class Connection : IOutputConnection
    {
        private readonly Socket _socket;
        private readonly Sender _sender = new();
        private long _sent;
        private long _acknowledged;

        public Connection(Socket socket)
        {
            _socket = socket;
            Closed = WatchForCloseAsync();
        }

        public Task Closed { get; }

        public string? CloseError { get; private set; }

        // SocketAsyncEventArgs rather than Socket.SendAsync: on failure it still reports how many bytes the
        // kernel took, which is what lets the writer resend exactly the lines that were not taken.
        public async ValueTask<SendResult> SendAsync(IList<ArraySegment<byte>> buffers)
        {
            var result = await _sender.SendAsync(_socket, buffers);
            _sent += result.BytesSent;
            return result;
        }

        public Acknowledgement ReadAcknowledged()
        {
            long acked = DestinationSocket.BytesAcked(_socket);
            if (acked >= 0)
                _acknowledged = Math.Clamp(acked - 1, _acknowledged, _sent); // the SYN counts one byte, and so does a FIN
            else if (!OperatingSystem.IsLinux())
                _acknowledged = _sent; // the kernel cannot say: what it took (on Linux, a closed socket keeps the last reading)
            return new(_acknowledged, _acknowledged);
        }

        // No lingering: a reset, so the kernel stops retransmitting into a dead peer and the pending send fails now.
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

        // Ends a send in progress without a reset: after shutdown(SHUT_WR) the kernel fails the pending send
        // with EPIPE, reporting what it took, and still delivers those bytes, then the FIN. Disposing here
        // instead, with the close-watch receive pending, made .NET reset the connection, and the peer lost
        // everything the kernel held: lines already counted as delivered.
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

        // A Graphite daemon never sends, so any completed read means it closed or reset: the writer then
        // reconnects before its next write instead of losing that write into a dead socket.
        private async Task WatchForCloseAsync()
        {
            var buffer = new byte[1];
            try
            {
                while (await _socket.ReceiveAsync(buffer, SocketFlags.None) > 0)
                {
                }
            }
            catch (SocketException e)
            {
                CloseError = e.SocketErrorCode.ToString();
            }
            catch (ObjectDisposedException)
            {
                CloseError = "closed";
            }
        }

        // A plain Dispose while the close-watch receive is pending makes .NET reset the connection (RST),
        // and a reset discards what the peer has not read yet. Close gracefully: FIN after the data, give
        // the peer a moment to close its side (which ends the pending receive), then dispose.
        public async ValueTask DisposeAsync()
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Send);
                await Closed.WaitAsync(GracefulCloseWait);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or TimeoutException)
            {
            }
            _socket.Dispose();
            _sender.Dispose();
        }
    }

    private sealed class Sender : SocketAsyncEventArgs
    {
        private TaskCompletionSource<SendResult>? _done;

        public ValueTask<SendResult> SendAsync(Socket socket, IList<ArraySegment<byte>> buffers)
        {
            BufferList = buffers;
            _done = null;
            bool pending;
            try
            {
                _done = new TaskCompletionSource<SendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                pending = socket.SendAsync(this);
            }
            catch (ObjectDisposedException e)
            {
                return new(new SendResult(0, e.Message));
            }
            return pending ? new(_done.Task) : new(Result());
        }

        protected override void OnCompleted(SocketAsyncEventArgs e) => _done!.TrySetResult(Result());

        private SendResult Result()
        {
            var result = new SendResult(BytesTransferred, SocketError == SocketError.Success ? null : SocketError.ToString());
            BufferList = null;
            return result;
        }
    }
}
