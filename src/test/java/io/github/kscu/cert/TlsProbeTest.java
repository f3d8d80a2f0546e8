package io.github.kscu.cert;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.cert.CertCheck.Problem;
import io.github.kscu.testing.TestCerts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingDeque;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The probe against a loopback port scripted connection by connection: what it concludes from each
 * answer, which ClientHello it sends, and how many connections it needs.
 */
class TlsProbeTest {
    private static final TestCerts.Issued CA = TestCerts.ca("probe-ca");
    private static final TestCerts.Issued SERVING = TestCerts.serving(CA, "node-a");
    /** A TLS 1.2-framed fatal internal_error alert: a kubelet without a serving certificate. */
    private static final byte[] INTERNAL_ERROR = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x50};

    private final Scripted kubelet = new Scripted();
    /**
     * Generous: the scripted kubelet's first TLS handshake in a cold JVM (JSSE's server side loading and
     * warming up) can take longer than a kubelet's; only the timeout case needs a short one.
     */
    private final TlsProbe probe = new TlsProbe(trustAll(), "127.0.0.1", kubelet.port(), Duration.ofSeconds(10));

    @AfterEach
    void tearDown() throws IOException {
        probe.close();
        kubelet.close();
    }

    @Test
    void anAlertIsNotYetAndNamesTheAlert() {
        kubelet.then(Scripted::alert);
        assertThat(refusal()).satisfies(n -> {
            assertThat(n.problem()).isEqualTo(Problem.HANDSHAKE_FAILED);
            assertThat(n.detail()).isEqualTo("TLS alert 80 (internal error: the kubelet has no serving certificate yet)"
                    + " instead of a ServerHello");
        });
    }

    @Test
    void anUnansweredClientHelloIsSentAgainUnchanged() {
        kubelet.then(Scripted::alert).then(Scripted::alert).then(Scripted::alert);
        for (int i = 0; i < 3; i++) {
            refusal();
        }
        assertThat(kubelet.hellos).hasSize(3);
        assertThat(kubelet.hellos.get(1)).isEqualTo(kubelet.hellos.get(0));
        assertThat(kubelet.hellos.get(2)).isEqualTo(kubelet.hellos.get(0));
    }

    @Test
    void aServerHelloIsFollowedToTheChainOnTheSameConnection() {
        kubelet.then(Scripted::alert).then(Scripted::alert).then(tls(null));
        refusal();
        refusal();
        assertThat(chain()).containsExactly(SERVING.certificate());
        assertThat(kubelet.hellos).as("one connection per probe, none extra for the handshake").hasSize(3);
        assertThat(kubelet.hellos.get(2)).isEqualTo(kubelet.hellos.get(0));
    }

    @Test
    void aCompletedHandshakeUsesUpItsClientHello() {
        kubelet.then(tls(null)).then(tls(null));
        chain();
        chain();
        assertThat(kubelet.hellos).hasSize(2);
        assertThat(kubelet.hellos.get(1)).as("a fresh client random and key share").isNotEqualTo(kubelet.hellos.get(0));
    }

    @Test
    void aHelloRetryRequestIsAnswered() {
        // The client sends key shares for its first groups only; a server that accepts none of them asks again.
        kubelet.then(tls(p -> p.setNamedGroups(new String[] {"secp384r1"})));
        assertThat(chain()).containsExactly(SERVING.certificate());
    }

    @Test
    void aTls12KubeletIsUnderstood() {
        kubelet.then(tls(p -> p.setProtocols(new String[] {"TLSv1.2"})));
        assertThat(chain()).containsExactly(SERVING.certificate());
    }

    @Test
    void aConnectionClosedAfterTheServerHelloFailsAndTheNextProbeStartsAfresh() {
        kubelet.then((s, hello) -> s.getOutputStream().write(new byte[] {0x16, 0x03, 0x03, 0x00, 0x7a, 0x02}))
                .then(tls(null));
        assertThat(refusal()).satisfies(n -> {
            assertThat(n.problem()).isEqualTo(Problem.HANDSHAKE_FAILED);
            assertThat(n.detail()).contains("closed the connection during the handshake");
        });
        assertThat(chain()).containsExactly(SERVING.certificate());
        assertThat(kubelet.hellos.get(1)).isNotEqualTo(kubelet.hellos.get(0));
    }

    @Test
    void aClosedConnectionWithoutAnswerIsNotYet() {
        kubelet.then((s, hello) -> { });
        assertThat(refusal()).satisfies(n -> {
            assertThat(n.problem()).isEqualTo(Problem.HANDSHAKE_FAILED);
            assertThat(n.detail()).isEqualTo("connection closed before a ServerHello");
        });
    }

    @Test
    void somethingOtherThanTlsIsNamed() {
        kubelet.then((s, hello) -> s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII)));
        assertThat(refusal().detail()).isEqualTo("not a TLS answer (first byte 72)");
    }

    @Test
    void aPortThatAcceptsAndNeverAnswersTimesOut() {
        kubelet.then((s, hello) -> Thread.sleep(5_000));
        long start = System.nanoTime();
        TlsProbe.Answer a;
        try (TlsProbe quick = new TlsProbe(trustAll(), "127.0.0.1", kubelet.port(), Duration.ofMillis(300))) {
            a = quick.probe();
        }
        assertThat(a).isInstanceOf(TlsProbe.Refused.class);
        CertCheck.NotYet n = ((TlsProbe.Refused) a).why();
        assertThat(n.problem()).isEqualTo(Problem.NO_CONNECTION);
        assertThat(n.detail()).isEqualTo("127.0.0.1:" + kubelet.port() + " gave no answer within 300ms");
        assertThat(Duration.ofNanos(System.nanoTime() - start))
                .isBetween(Duration.ofMillis(300), Duration.ofMillis(300).plus(Watchdog.TICK).plusSeconds(1));
    }

    /**
     * A process that binds :10250 before the kubelet and answers with a record larger than TLS allows
     * (16 KiB and some): the probe must neither spin on a buffer with no room nor wait for the watchdog.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "a record of {0} bytes")
    @org.junit.jupiter.params.provider.ValueSource(ints = {17_000, 20_000, 33_000, 65_535})
    void aHostileListenerWithAnOversizedRecordIsRefusedAtOnceWithoutSpinning(int length) {
        kubelet.then((s, hello) -> {
            byte[] record = new byte[5 + length];
            record[0] = 0x16;
            record[1] = 0x03;
            record[2] = 0x03;
            record[3] = (byte) (length >>> 8);
            record[4] = (byte) length;
            s.getOutputStream().write(record);
            Thread.sleep(10_000); // and keeps the connection open
        });
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpu = threads.getCurrentThreadCpuTime();
        long start = System.nanoTime();
        TlsProbe.Answer a;
        try (TlsProbe bounded = new TlsProbe(trustAll(), "127.0.0.1", kubelet.port(), Duration.ofSeconds(5))) {
            a = bounded.probe();
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        Duration spent = Duration.ofNanos(threads.getCurrentThreadCpuTime() - cpu);
        assertThat(a).isInstanceOf(TlsProbe.Refused.class);
        CertCheck.NotYet n = ((TlsProbe.Refused) a).why();
        assertThat(n.problem()).isEqualTo(Problem.HANDSHAKE_FAILED);
        assertThat(n.detail()).isNotBlank();
        assertThat(took).as("before the watchdog's 5 s (%s)", n.detail()).isLessThan(Duration.ofMillis(2500));
        assertThat(spent).as("CPU of the probe (%s)", n.detail()).isLessThan(Duration.ofMillis(2000));
    }

    @Test
    void aRefusedConnectionIsNoConnection() throws IOException {
        int port = kubelet.port();
        kubelet.close();
        assertThat(refusal()).satisfies(n -> {
            assertThat(n.problem()).isEqualTo(Problem.NO_CONNECTION);
            assertThat(n.detail()).isEqualTo("127.0.0.1:" + port);
        });
    }

    private CertCheck.NotYet refusal() {
        TlsProbe.Answer a = probe.probe();
        assertThat(a).isInstanceOf(TlsProbe.Refused.class);
        return ((TlsProbe.Refused) a).why();
    }

    private X509Certificate[] chain() {
        TlsProbe.Answer a = probe.probe();
        assertThat(a).as("%s", a).isInstanceOf(TlsProbe.Presented.class);
        return ((TlsProbe.Presented) a).chain();
    }

    private static SSLContext trustAll() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Completes the handshake with {@link #SERVING}, the ClientHello already read, parameters adjusted. */
    private static Answer tls(java.util.function.Consumer<SSLParameters> adjust) {
        return (s, hello) -> {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("serving", SERVING.keys().getPrivate(), new char[0],
                    new X509Certificate[] {SERVING.certificate()});
            KeyManagerFactory keys = KeyManagerFactory.getInstance("PKIX");
            keys.init(store, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys.getKeyManagers(), null, null);
            try (SSLSocket tls = (SSLSocket) ctx.getSocketFactory().createSocket(s, new ByteArrayInputStream(hello),
                    true)) {
                tls.setTcpNoDelay(true);
                if (adjust != null) {
                    SSLParameters p = tls.getSSLParameters();
                    adjust.accept(p);
                    tls.setSSLParameters(p);
                }
                tls.startHandshake();
                tls.getInputStream().read(); // until the probe closes
            } catch (IOException e) {
                // the probe closes without close_notify
            }
        };
    }

    /** What the port does with one connection, after reading its first TLS record. */
    @FunctionalInterface
    private interface Answer {
        void answer(Socket s, byte[] hello) throws Exception;
    }

    /** A loopback port that answers each connection by the next {@link Answer}, recording each ClientHello. */
    private static final class Scripted implements AutoCloseable {
        final List<byte[]> hellos = new CopyOnWriteArrayList<>();
        private final BlockingDeque<Answer> script = new LinkedBlockingDeque<>();
        private final ServerSocket server;

        Scripted() {
            try {
                server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            Thread.ofPlatform().daemon().name("scripted-kubelet").start(this::serve);
        }

        Scripted then(Answer a) {
            script.add(a);
            return this;
        }

        int port() {
            return server.getLocalPort();
        }

        static void alert(Socket s, byte[] hello) throws IOException {
            s.getOutputStream().write(INTERNAL_ERROR);
        }

        private void serve() {
            while (!server.isClosed()) {
                try (Socket s = server.accept()) {
                    s.setTcpNoDelay(true);
                    byte[] hello = firstRecord(s.getInputStream());
                    hellos.add(hello);
                    Answer a = script.poll();
                    if (a == null) {
                        throw new IllegalStateException("connection " + hellos.size() + " was not scripted");
                    }
                    a.answer(s, hello);
                } catch (Exception e) {
                    if (!server.isClosed() && !(e instanceof IOException)) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        }

        private static byte[] firstRecord(InputStream in) throws IOException {
            byte[] header = in.readNBytes(5);
            byte[] body = header.length == 5 ? in.readNBytes(((header[3] & 0xff) << 8) | (header[4] & 0xff))
                    : new byte[0];
            byte[] all = new byte[header.length + body.length];
            System.arraycopy(header, 0, all, 0, header.length);
            System.arraycopy(body, 0, all, header.length, body.length);
            return all;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
