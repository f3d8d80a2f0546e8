package io.github.kscu.health;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.github.kscu.config.ListenAddress;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * {@code /healthz}, {@code /readyz} and {@code /metrics} on the JDK's HTTP server. The probes are hit
 * every few seconds for the life of the node, so they must cost nothing: no framework, virtual threads.
 */
public final class HealthServer implements AutoCloseable {
    /** What {@code /readyz} answers: ready, and a short human-readable reason either way. */
    public record Readiness(boolean ready, String detail) {
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    private HealthServer(HttpServer server) {
        this.server = server;
    }

    public static HealthServer start(ListenAddress address, Supplier<Readiness> readiness,
            PrometheusRegistry registry) throws IOException {
        InetSocketAddress bind = address.host().isEmpty()
                ? new InetSocketAddress(address.port())
                : new InetSocketAddress(address.host(), address.port());
        HttpServer server = HttpServer.create(bind, 16);
        HealthServer health = new HealthServer(server);
        server.createContext("/healthz", ex -> reply(ex, 200, "ok\n"));
        server.createContext("/readyz", ex -> {
            Readiness r = readiness.get();
            reply(ex, r.ready() ? 200 : 503, r.detail() + "\n");
        });
        PrometheusTextFormatWriter text = PrometheusTextFormatWriter.create();
        server.createContext("/metrics", ex -> {
            ByteArrayOutputStream body = new ByteArrayOutputStream(4096);
            text.write(body, registry.scrape());
            reply(ex, 200, text.getContentType(), body.toByteArray());
        });
        server.createContext("/", ex -> reply(ex, 404, "not found: try /healthz, /readyz or /metrics\n"));
        server.setExecutor(health.executor);
        server.start();
        return health;
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        reply(ex, status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }

    private static void reply(HttpExchange ex, int status, String contentType, byte[] bytes) throws IOException {
        try (ex) {
            ex.getResponseHeaders().set("Content-Type", contentType);
            if ("HEAD".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(status, -1);
                return;
            }
            ex.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
