using System.Net;
using System.Net.Sockets;

namespace Analytics.Testing;

/// <summary>
/// Loopback ports for servers the tests start. Where the server can bind port 0 and report what it got (the worker
/// and the API: <see cref="ChildProcess.ListeningPort"/>), prefer that: no other process can take the port between a
/// probe and the bind. <see cref="Hold"/> binds port 0 and keeps the socket for a caller that can hand it on;
/// <see cref="Next"/> is for a server that must be told its port up front (Prometheus, an in-process Kestrel).
/// </summary>
public static class FreePort
{
    /// <summary>A listening socket on a port the system chose; the port is the caller's while it holds the socket.</summary>
    public static TcpListener Hold()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    /// <summary>A port that was free a moment ago (bound to port 0, read back and released).</summary>
    public static int Next()
    {
        using var listener = Hold();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
