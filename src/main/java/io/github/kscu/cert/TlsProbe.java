package io.github.kscu.cert;

import io.github.kscu.cert.CertCheck.NotYet;
import io.github.kscu.cert.CertCheck.Problem;
import io.github.kscu.config.Durations;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SocketChannel;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

/**
 * One look at the kubelet's TLS port: a connection, the first flight of a client handshake, and the
 * first record of the answer. A kubelet without a serving certificate answers with an alert before any
 * ServerHello (Go's TLS server picks the certificate first), so "not yet" costs a connection and a few
 * bytes. A ServerHello means it has one: the handshake goes on over the same connection, so the
 * certificate is in hand one round trip after the kubelet first presents it.
 *
 * <p>The first flight comes from an {@link SSLEngine} that is kept, untouched, until some kubelet
 * answers it: the same ClientHello goes out on every connection that gets an alert, and its key shares
 * are generated once instead of at every probe. An engine that saw a ServerHello is used up (its
 * handshake finished or failed); the next probe makes a new one, so no two completed handshakes share a
 * client random.
 *
 * <p>Rejected: a full {@code SSLSocket} handshake per probe (a failed one costs milliseconds of CPU,
 * which forced a 250 ms interval); a replayed ClientHello followed by a second connection for the
 * handshake (a second connection, a second ServerHello computed by the kubelet, and tens of ms more);
 * timed socket reads or a {@code Selector} per probe (each costs syscalls on every probe, measured
 * 20–40 % more CPU per probe). The I/O is blocking instead, and {@link Watchdog} closes a connection
 * that outlives {@code timeout}, which wakes the blocked probe.
 */
final class TlsProbe implements AutoCloseable {
    private static final int ALERT = 21;
    private static final int HANDSHAKE = 22;
    static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

    /** What the kubelet did: presented a chain (the handshake completed), or why not. */
    sealed interface Answer permits Presented, Refused {
    }

    record Presented(X509Certificate[] chain) implements Answer {
    }

    record Refused(NotYet why) implements Answer {
    }

    private final SSLContext tls;
    private final String host;
    private final int port;
    private final Duration timeout;
    private final Watchdog watchdog;
    private SSLEngine pending;
    private ByteBuffer firstFlight;
    /** Network bytes in; kept between probes so a refusal allocates nothing. */
    private ByteBuffer in;

    TlsProbe(SSLContext tls, String host, int port, Duration timeout) {
        this.tls = tls;
        this.host = host;
        this.port = port;
        this.timeout = timeout;
        this.watchdog = new Watchdog(timeout);
    }

    Answer probe() {
        try {
            prepare();
        } catch (SSLException e) {
            return new Refused(new NotYet(Problem.HANDSHAKE_FAILED, "cannot start a TLS handshake: " + e.getMessage()));
        }
        SocketChannel channel;
        try {
            channel = SocketChannel.open();
        } catch (IOException e) {
            return new Refused(new NotYet(Problem.NO_CONNECTION, "cannot open a socket: " + e.getMessage()));
        }
        watchdog.guard(channel);
        boolean connected = false;
        try {
            channel.connect(new InetSocketAddress(host, port));
            connected = true;
            return exchange(channel);
        } catch (IOException e) {
            // Before the connection: unreachable. After it: the kubelet is there but would not shake
            // hands, unless the watchdog closed a connection that never answered.
            return new Refused(!connected || e instanceof AsynchronousCloseException ? unreachable(e)
                    : new NotYet(Problem.HANDSHAKE_FAILED, describe(e)));
        } finally {
            watchdog.release();
            try {
                channel.close();
            } catch (IOException e) {
                // the answer is in; a failed close of a probe's socket changes nothing
            }
        }
    }

    /** A client engine and its first flight, unless the last one is still unanswered. */
    private void prepare() throws SSLException {
        if (pending != null) {
            return;
        }
        SSLEngine engine = tls.createSSLEngine(host, port);
        engine.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(NOTHING, out);
        pending = engine;
        firstFlight = out.flip();
        if (in == null) {
            in = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        }
    }

    private Answer exchange(SocketChannel channel) throws IOException {
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        writeFully(channel, firstFlight.duplicate());
        in.clear();
        readAtLeast(channel, 5); // a record header: type, version (2), length (2)
        int type = in.get(0);
        if (type == ALERT) {
            readAtLeast(channel, 7); // level, description
            int description = in.get(6) & 0xff;
            return new Refused(new NotYet(Problem.HANDSHAKE_FAILED,
                    "TLS alert " + description + " (" + alertName(description) + ") instead of a ServerHello"));
        }
        if (type != HANDSHAKE) {
            return new Refused(new NotYet(Problem.HANDSHAKE_FAILED, "not a TLS answer (first byte " + (type & 0xff)
                    + ")"));
        }
        SSLEngine engine = pending;
        pending = null; // answered: whatever happens next, this engine is used up
        return new Presented(new TlsHandshake(channel, engine, in).finish());
    }

    private void readAtLeast(SocketChannel channel, int bytes) throws IOException {
        while (in.position() < bytes) {
            if (channel.read(in) < 0) {
                throw new EOFException(in.position() == 0 ? "connection closed before a ServerHello"
                        : "connection closed inside the first TLS record");
            }
        }
    }

    static void writeFully(SocketChannel channel, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    private NotYet unreachable(IOException e) {
        return switch (e) {
            case AsynchronousCloseException t -> new NotYet(Problem.NO_CONNECTION,
                    host + ":" + port + " gave no answer within " + Durations.format(timeout));
            case ConnectException c -> new NotYet(Problem.NO_CONNECTION, host + ":" + port);
            default -> new NotYet(Problem.NO_CONNECTION, host + ":" + port + ": " + e.getMessage());
        };
    }

    /** Connected, then an error: the kubelet is there, it just would not (yet) shake hands. */
    private static String describe(IOException e) {
        return e instanceof EOFException || e instanceof SSLException ? e.getMessage()
                : "connection closed before a ServerHello: " + e.getMessage();
    }

    private static String alertName(int description) {
        return switch (description) {
            case 40 -> "handshake failure";
            case 80 -> "internal error: the kubelet has no serving certificate yet";
            case 112 -> "unrecognized name";
            default -> "alert";
        };
    }

    @Override
    public void close() {
        watchdog.close();
    }
}
