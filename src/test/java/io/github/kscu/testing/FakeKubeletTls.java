package io.github.kscu.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The TLS side of a kubelet's port 10250 on loopback. Until a certificate is set it answers every
 * ClientHello with a fatal {@code internal_error} alert and no ServerHello, exactly as Go's TLS server in
 * the kubelet does when its GetCertificate callback fails (it picks the certificate before it sends
 * anything); then it presents that certificate. Only the handshake is served: the agent sends no request.
 */
public final class FakeKubeletTls implements AutoCloseable {
    /** A TLS 1.2-framed fatal alert, internal_error (80): what a kubelet without a certificate sends. */
    private static final byte[] INTERNAL_ERROR = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50};

    private final java.net.ServerSocket server;
    private final javax.net.ssl.SSLSocketFactory tls;
    private final AtomicReference<TestCerts.Issued> current = new AtomicReference<>();
    private final AtomicInteger handshakes = new AtomicInteger();
    private final AtomicInteger helloBytes = new AtomicInteger();
    private final Thread acceptor;

    public FakeKubeletTls() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new javax.net.ssl.KeyManager[] {new SwitchableKeyManager()}, null, null);
        tls = ctx.getSocketFactory();
        server = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = Thread.ofPlatform().daemon().name("fake-kubelet").start(this::serve);
    }

    public int port() {
        return server.getLocalPort();
    }

    public String address() {
        return "127.0.0.1:" + port();
    }

    /** Starts presenting this certificate (null: fail handshakes again). */
    public void serve(TestCerts.Issued cert) {
        current.set(cert);
    }

    /** The size of the last ClientHello record answered with an alert, header included. */
    public int helloBytes() {
        return helloBytes.get();
    }

    /** Handshakes attempted so far, failed ones included. */
    public int handshakes() {
        return handshakes.get();
    }

    private void serve() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread.ofVirtual().start(() -> {
                    try (s) {
                        handshakes.incrementAndGet();
                        s.setSoTimeout(5_000);
                        s.setTcpNoDelay(true); // as Go sets on every TCP connection, the kubelet's included
                        if (current.get() == null) {
                            // The whole ClientHello record, so that closing does not reset unread bytes.
                            byte[] header = s.getInputStream().readNBytes(5);
                            if (header.length == 5) {
                                int length = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
                                helloBytes.set(5 + s.getInputStream().readNBytes(length).length);
                            }
                            s.getOutputStream().write(INTERNAL_ERROR);
                            return;
                        }
                        try (SSLSocket socket = (SSLSocket) tls.createSocket(s, null, true)) {
                            socket.setUseClientMode(false);
                            socket.startHandshake();
                            socket.getInputStream().read(); // until the client closes
                        }
                    } catch (IOException e) {
                        // the client went away: probes close after the first record or the handshake
                    }
                });
            } catch (IOException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        acceptor.interrupt();
    }

    /** Offers the current certificate, or nothing, which aborts the handshake. */
    private final class SwitchableKeyManager extends X509ExtendedKeyManager {
        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return alias(keyType);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return alias(keyType);
        }

        private String alias(String keyType) {
            TestCerts.Issued c = current.get();
            return c != null && c.keys().getPrivate().getAlgorithm().equals(keyType) ? "serving" : null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            TestCerts.Issued c = current.get();
            return c == null ? null : new X509Certificate[] {c.certificate()};
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            TestCerts.Issued c = current.get();
            return c == null ? null : c.keys().getPrivate();
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }


}
