package io.github.kscu.cert;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;

/** The rest of a {@link TlsProbe}'s handshake, once the kubelet answered with a ServerHello. */
final class TlsHandshake {
    /** Passes of the handshake loop before it gives up: a real handshake takes a few dozen. */
    static final int MAX_HANDSHAKE_STEPS = 10_000;

    private final SocketChannel channel;
    private final SSLEngine engine;
    /** What was read so far, the ServerHello's first record included; replaced when it must grow. */
    private ByteBuffer in;

    TlsHandshake(SocketChannel channel, SSLEngine engine, ByteBuffer in) {
        this.channel = channel;
        this.engine = engine;
        this.in = in;
    }

    /**
     * Drives the rest of the handshake over the blocking channel; the buffer holds what was read.
     *
     * <p>Whatever listens on the port may not be a kubelet (a process can bind it first), so no answer
     * may make this loop spin: a record larger than the engine can take, or an unwrap that asks for
     * room, ends the probe with its reason at once, and every pass is counted. A peer that only
     * trickles bytes blocks in a read, costs no CPU, and meets the {@link Watchdog}.
     */
    X509Certificate[] finish() throws IOException {
        in.flip();
        ByteBuffer app = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize());
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        for (int step = 1; ; step++) {
            if (step > MAX_HANDSHAKE_STEPS) {
                throw new SSLException("no handshake after " + MAX_HANDSHAKE_STEPS + " steps: not a kubelet");
            }
            switch (engine.getHandshakeStatus()) {
                case NEED_TASK -> {
                    for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
                        task.run();
                    }
                }
                case NEED_WRAP -> {
                    out.clear();
                    SSLEngineResult r = engine.wrap(TlsProbe.NOTHING, out);
                    TlsProbe.writeFully(channel, out.flip());
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new SSLException("the handshake was closed");
                    }
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    app.clear();
                    SSLEngineResult r = engine.unwrap(in, app);
                    switch (r.getStatus()) {
                        case BUFFER_UNDERFLOW -> readMore();
                        // app already has the session's application size, and a handshake decrypts nothing
                        // into it: asking for more room is a peer that is not a kubelet, not a reason to grow.
                        case BUFFER_OVERFLOW -> throw new SSLException(
                                "the peer sent data the handshake cannot take: not a kubelet");
                        case CLOSED -> throw new SSLException("the kubelet closed the handshake");
                        case OK -> {
                            // progress: the next status says what follows
                        }
                    }
                }
                case FINISHED, NOT_HANDSHAKING -> {
                    return (X509Certificate[]) engine.getSession().getPeerCertificates();
                }
            }
        }
    }

    /**
     * Reads more after an underflow. A record that cannot fit even a buffer of the session's
     * packet size (a TLS record is at most 16 KiB and some bytes) is refused: with no room left, a read
     * returns 0 at once, which used to spin until the watchdog.
     */
    private void readMore() throws IOException {
        in.compact();
        if (!in.hasRemaining()) {
            int packet = engine.getSession().getPacketBufferSize();
            if (in.capacity() >= packet) {
                int declared = ((in.get(3) & 0xff) << 8) | (in.get(4) & 0xff); // the record header's length
                throw new SSLException("a TLS record of " + declared + " bytes, over the " + in.capacity()
                        + " a record may take: not a kubelet");
            }
            in = ByteBuffer.allocate(packet).put(in.flip());
        }
        if (channel.read(in) < 0) {
            throw new EOFException("the kubelet closed the connection during the handshake");
        }
        in.flip();
    }
}
