using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace Portal.Tests.Support;

/// <summary>An SMTP server that accepts every message and keeps it (envelope recipients and the raw message).</summary>
public sealed class SmtpSink : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Message> _messages = new();

    public sealed record Message(IReadOnlyList<string> Recipients, string Data)
    {
        /// <summary>The Subject header, unfolded.</summary>
        public string Subject => Data.Replace("\r\n ", " ", StringComparison.Ordinal).Replace("\r\n\t", " ", StringComparison.Ordinal).Split("\r\n")
            .FirstOrDefault(l => l.StartsWith("Subject:", StringComparison.OrdinalIgnoreCase))?["Subject:".Length..].Trim() ?? "";
    }

    public SmtpSink()
    {
        _listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    public string Server => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public IReadOnlyCollection<Message> Messages => _messages.ToArray();

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII);
            await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 sink ESMTP");
            var recipients = new List<string>();
            while (await reader.ReadLineAsync() is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                    case "HELO":
                        await writer.WriteLineAsync("250 sink");
                        break;
                    case "RCPT":
                        recipients.Add(line[(line.IndexOf('<') + 1)..line.IndexOf('>')]);
                        await writer.WriteLineAsync("250 ok");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 go on");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync() is { } body && body != ".")
                        {
                            data.Append(body).Append("\r\n");
                        }

                        _messages.Enqueue(new Message([.. recipients], data.ToString()));
                        recipients.Clear();
                        await writer.WriteLineAsync("250 queued");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 bye");
                        return;
                    default:
                        await writer.WriteLineAsync("250 ok");
                        break;
                }
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }
}
