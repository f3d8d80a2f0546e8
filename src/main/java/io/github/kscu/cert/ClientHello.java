package io.github.kscu.cert;

import io.github.kscu.cert.CertCheck.NotYet;
import io.github.kscu.cert.CertCheck.Problem;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Arrays;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;

/**
 * The kubelet source's cheap pre-check: one ClientHello, and the first record of the answer. A kubelet
 * without a serving certificate answers with an alert before any ServerHello (Go's TLS server picks the
 * certificate first), so "not yet" costs a connection and a few bytes instead of a failed handshake.
 */
final class ClientHello {
    private static final int ALERT = 21;
    private static final int HANDSHAKE = 22;

    private ClientHello() {
    }

    /** The first flight of a handshake with {@code host}, as this JDK's TLS client would send it. */
    static byte[] bytes(SSLContext tls, String host, int port) throws SSLException {
        SSLEngine engine = tls.createSSLEngine(host, port);
        engine.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        engine.closeOutbound();
        return Arrays.copyOf(out.array(), out.position());
    }

    /** Sends {@code hello} on a connected socket: null for a ServerHello (go on with a handshake), else why not. */
    static NotYet answer(Socket connected, byte[] hello) throws IOException {
        connected.setTcpNoDelay(true);
        connected.getOutputStream().write(hello);
        byte[] record = connected.getInputStream().readNBytes(7); // type, version (2), length (2), level, description
        if (record.length >= 1 && record[0] == HANDSHAKE) {
            return null;
        }
        if (record.length == 7 && record[0] == ALERT) {
            return new NotYet(Problem.HANDSHAKE_FAILED, "TLS alert " + (record[6] & 0xff) + " ("
                    + alertName(record[6] & 0xff) + ") instead of a ServerHello");
        }
        return new NotYet(Problem.HANDSHAKE_FAILED, record.length == 0 ? "connection closed before a ServerHello"
                : "not a TLS answer (first byte " + (record[0] & 0xff) + ")");
    }

    private static String alertName(int description) {
        return switch (description) {
            case 40 -> "handshake failure";
            case 80 -> "internal error: the kubelet has no serving certificate yet";
            case 112 -> "unrecognized name";
            default -> "alert";
        };
    }
}
