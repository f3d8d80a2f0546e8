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
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The TLS side of a kubelet's port 10250 on loopback. Until a certificate is set it fails every handshake,
 * as a kubelet without a serving certificate does (its GetCertificate callback returns an error and the
 * client gets an alert); then it presents that certificate. Only the handshake is served: the agent sends
 * no request.
 */
public final class FakeKubeletTls implements AutoCloseable {
    private final SSLServerSocket server;
    private final AtomicReference<TestCerts.Issued> current = new AtomicReference<>();
    private final AtomicInteger handshakes = new AtomicInteger();
    private final Thread acceptor;

    public FakeKubeletTls() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new javax.net.ssl.KeyManager[] {new SwitchableKeyManager()}, null, null);
        server = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
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

    /** Handshakes attempted so far, failed ones included. */
    public int handshakes() {
        return handshakes.get();
    }

    private void serve() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread.ofVirtual().start(() -> {
                    try (SSLSocket socket = (SSLSocket) s) {
                        handshakes.incrementAndGet();
                        socket.setSoTimeout(5_000);
                        socket.startHandshake();
                        socket.getInputStream().read(); // until the client closes
                    } catch (IOException e) {
                        // a failed handshake is the point while no certificate is set
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
