package io.github.kscu.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.config.ListenAddress;
import io.github.kscu.health.HealthServer.Readiness;
import io.github.kscu.report.Metrics;
import io.github.kscu.report.Reason;
import io.github.kscu.report.State;
import io.github.kscu.testing.Scraped;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

class HealthServerTest {
    private final OkHttpClient http = new OkHttpClient();

    record Answer(int statusCode, String body) {
    }

    private Answer get(HealthServer s, String path) throws Exception {
        try (Response r = http.newCall(new Request.Builder().url("http://127.0.0.1:" + s.port() + path).build())
                .execute()) {
            return new Answer(r.code(), r.body().string());
        }
    }

    @Test
    void probesAndMetrics() throws Exception {
        AtomicReference<Readiness> readiness = new AtomicReference<>(new Readiness(false, "waiting"));
        Instant now = Instant.parse("2026-11-25T00:00:00Z");
        Metrics metrics = new Metrics(() -> now);
        try (HealthServer s = HealthServer.start(new ListenAddress("127.0.0.1", 0), readiness::get,
                metrics.registry())) {
            assertThat(get(s, "/healthz").statusCode()).isEqualTo(200);
            Answer notReady = get(s, "/readyz");
            assertThat(notReady.statusCode()).isEqualTo(503);
            // The reason stays in-process (logs, Events): the port answers anyone on the node's network.
            assertThat(notReady.body()).isEqualTo("not ready: the agent's log and the node's Events say why\n");
            readiness.set(new Readiness(true, "done"));
            assertThat(get(s, "/readyz").statusCode()).isEqualTo(200);
            assertThat(get(s, "/readyz").body()).isEqualTo("ready\n");
            assertThat(get(s, "/nope").statusCode()).isEqualTo(404);

            metrics.state(State.WAITING_FOR_CERT);
            metrics.state(State.SETTLING);
            metrics.request("patch", "200");
            metrics.request("patch", "409");
            metrics.outcome(Reason.STARTUP_TAINT_REMOVED);
            metrics.outcome(Reason.STARTUP_TAINT_READDED);
            metrics.certToUntaint(Duration.ofMillis(12));
            metrics.certNotAfter(now.plusSeconds(3600));
            String body = get(s, "/metrics").body();
            assertThat(body)
                    .contains("kscu_state{state=\"settling\"} 1")
                    .contains("kscu_state{state=\"waiting-for-cert\"} 0")
                    .contains("kscu_api_requests_total{code=\"409\",verb=\"patch\"} 1")
                    .contains("kscu_outcomes_total{reason=\"StartupTaintRemoved\"} 1")
                    .contains("kscu_outcomes_total{reason=\"ServingCertificateTimeout\"} 0")
                    .contains("kscu_taint_removals_total 1")
                    .contains("kscu_taint_readds_total 1")
                    .contains("kscu_cert_to_untaint_seconds_bucket{le=\"0.025\"} 1")
                    .contains("kscu_serving_cert_expiry_seconds 3600");
            assertThat(Scraped.requests(metrics, "patch")).isEqualTo(2);
            // A Prometheus asking for protobuf first (native histograms) still gets text: the protobuf
            // format is excluded from the image (pom.xml).
            try (Response r = http.newCall(new Request.Builder().url("http://127.0.0.1:" + s.port() + "/metrics")
                    .header("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
                            + "encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3").build()).execute()) {
                assertThat(r.code()).isEqualTo(200);
                assertThat(r.header("Content-Type")).startsWith("text/plain");
                assertThat(r.body().string()).contains("kscu_taint_removals_total 1");
            }
            assertThat(Scraped.requests(metrics, "patch", "409")).isEqualTo(1);
        }
    }

    /** Raw HTTP on a fresh connection: what a kubelet probe or Prometheus sends, and what they get. */
    private static String raw(HealthServer s, String request) throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", s.port())) {
            socket.setSoTimeout(2000);
            socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
            return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void headGivesHeadersOnlyAndOtherMethodsAndOversizedHeadsAreRefused() throws Exception {
        try (HealthServer s = HealthServer.start(new ListenAddress("127.0.0.1", 0), () -> new Readiness(true, "done"),
                new Metrics(Instant::now).registry())) {
            assertThat(raw(s, "HEAD /readyz HTTP/1.1\r\nHost: n\r\n\r\n")).startsWith("HTTP/1.1 200 OK\r\n")
                    .contains("Content-Length: 6\r\n").endsWith("\r\n\r\n");
            assertThat(raw(s, "POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n")).startsWith("HTTP/1.1 405 ");
            assertThat(raw(s, "GET /healthz HTTP/1.0\n\n")).startsWith("HTTP/1.1 200 OK").endsWith("ok\n");
            assertThat(raw(s, "GET /healthz?verbose HTTP/1.1\r\n\r\n")).endsWith("ok\n");
            assertThat(raw(s, "nonsense\r\n\r\n")).startsWith("HTTP/1.1 400 ");
            // Only the request line is kept, up to its own limit.
            assertThat(raw(s, "GET /" + "a".repeat(HealthServer.MAX_LINE_BYTES) + " HTTP/1.1\r\n\r\n"))
                    .startsWith("HTTP/1.1 414 ");
            // Over the limit: refused (if the answer loses the race with the reset of unread bytes, the
            // connection is closed all the same); the server carries on.
            String huge = "GET /metrics HTTP/1.1\r\nX-a: " + "a".repeat(HealthServer.MAX_REQUEST_BYTES) + "\r\n\r\n";
            String refused;
            try {
                refused = raw(s, huge);
            } catch (java.net.SocketException e) {
                refused = "HTTP/1.1 431 (reset)";
            }
            assertThat(refused).startsWith("HTTP/1.1 431 ");
            assertThat(raw(s, "GET /healthz HTTP/1.1\r\n\r\n")).endsWith("ok\n");
        }
    }
}
