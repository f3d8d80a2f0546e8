package io.github.kscu.health;

import io.github.kscu.health.HealthServer.Readiness;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/** What the health port answers to a request line: {@code GET} or {@code HEAD} of three paths. */
final class HealthRoutes {
    private static final String TEXT = "text/plain; charset=utf-8";

    /** An answer: status, content type, body, and whether only the head is sent (HEAD). */
    record Answer(int status, String contentType, byte[] body, boolean headOnly) {
        static Answer text(int status, String body, boolean headOnly) {
            return new Answer(status, TEXT, (body + "\n").getBytes(StandardCharsets.UTF_8), headOnly);
        }
    }

    private final Supplier<Readiness> readiness;
    private final PrometheusRegistry registry;
    private final PrometheusTextFormatWriter text = PrometheusTextFormatWriter.create();

    HealthRoutes(Supplier<Readiness> readiness, PrometheusRegistry registry) {
        this.readiness = readiness;
        this.registry = registry;
    }

    /** The whole answer, ready to write, to a complete request head; only its request line matters. */
    ByteBuffer respond(String requestLine) {
        return bytes(answer(requestLine));
    }

    static ByteBuffer bytes(Answer a) {
        byte[] top = ("HTTP/1.1 " + a.status() + " " + reason(a.status()) + "\r\nContent-Type: " + a.contentType()
                + "\r\nContent-Length: " + a.body().length + "\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer out = ByteBuffer.allocate(top.length + (a.headOnly() ? 0 : a.body().length));
        out.put(top);
        if (!a.headOnly()) {
            out.put(a.body());
        }
        return out.flip();
    }

    Answer answer(String requestLine) {
        String[] line = requestLine.split(" ");
        if (line.length != 3 || !line[2].startsWith("HTTP/1.")) {
            return Answer.text(400, "bad request", false);
        }
        boolean head = line[0].equals("HEAD");
        if (!head && !line[0].equals("GET")) {
            return Answer.text(405, "only GET and HEAD", false);
        }
        int query = line[1].indexOf('?');
        return switch (query < 0 ? line[1] : line[1].substring(0, query)) {
            case "/healthz" -> Answer.text(200, "ok", head);
            // The status is what a probe needs. Why the node is not ready (file paths, certificate subjects,
            // addresses, apiserver errors) is for the log and the Events, which need credentials to read;
            // this port answers anyone on the node's network.
            case "/readyz" -> readiness.get().ready() ? Answer.text(200, "ready", head)
                    : Answer.text(503, "not ready: the agent's log and the node's Events say why", head);
            case "/metrics" -> new Answer(200, text.getContentType(), metrics(), head);
            default -> Answer.text(404, "not found: try /healthz, /readyz or /metrics", head);
        };
    }

    private byte[] metrics() {
        ByteArrayOutputStream body = new ByteArrayOutputStream(4096);
        try {
            text.write(body, registry.scrape());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return body.toByteArray();
    }

    static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 414 -> "URI Too Long";
            case 431 -> "Request Header Fields Too Large";
            default -> "Service Unavailable";
        };
    }
}
