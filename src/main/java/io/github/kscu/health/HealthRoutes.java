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
    ByteBuffer respond(byte[] head) {
        int lineEnd = 0;
        while (head[lineEnd] != '\r' && head[lineEnd] != '\n') {
            lineEnd++;
        }
        return bytes(answer(new String(head, 0, lineEnd, StandardCharsets.ISO_8859_1)));
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

    /** True once the request head has ended: an empty line ({@code \r\n\r\n}, or bare newlines). */
    static boolean headComplete(byte[] head, int length) {
        for (int i = 1; i < length; i++) {
            if (head[i] == '\n' && (head[i - 1] == '\n' || (i >= 3 && head[i - 1] == '\r' && head[i - 2] == '\n'))) {
                return true;
            }
        }
        return false;
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
            case "/readyz" -> {
                Readiness r = readiness.get();
                yield Answer.text(r.ready() ? 200 : 503, r.detail(), head);
            }
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
            case 431 -> "Request Header Fields Too Large";
            default -> "Service Unavailable";
        };
    }
}
