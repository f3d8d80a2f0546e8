package io.github.kscu.log;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.tinylog.core.LogEntry;

/**
 * One JSON object per line on stdout. tinylog's own JSON writer keeps a file open for seeking and fails
 * on a pipe, which is what a container's stdout is. tinylog creates this writer by its class name
 * ({@link LogSetup}).
 *
 * <p>Our messages follow one convention: a stable event text, then {@code key=value} fields. The fields
 * become JSON members, so log pipelines can filter on {@code node} or {@code reason} without parsing.
 */
public final class JsonStdoutWriter extends StdoutWriter {
    /** Called by tinylog with the writer's properties, none of which we need. */
    public JsonStdoutWriter(Map<String, String> properties) {
        this(stdout());
    }

    JsonStdoutWriter(OutputStream out) {
        super(out);
    }

    @Override
    String line(LogEntry entry) {
        return format(entry.getTimestamp().toInstant().toString(), entry.getLevel().name(), logger(entry),
                entry.getMessage(), entry.getException());
    }

    /** The JSON line for one entry, newline included. */
    static String format(String time, String level, String logger, String message, Throwable error) {
        StringBuilder json = new StringBuilder(256);
        json.append("{\"time\":");
        quote(json, time);
        json.append(",\"level\":");
        quote(json, level.toLowerCase(java.util.Locale.ROOT));
        if (logger != null) {
            json.append(",\"logger\":");
            quote(json, logger);
        }
        Fields.Parsed parsed = Fields.parse(message == null ? "" : message);
        json.append(",\"msg\":");
        quote(json, parsed.text());
        for (Map.Entry<String, String> f : parsed.fields().entrySet()) {
            if (isReserved(f.getKey())) {
                continue;
            }
            json.append(',');
            quote(json, f.getKey());
            json.append(':');
            quote(json, f.getValue());
        }
        if (error != null) {
            StringWriter trace = new StringWriter();
            error.printStackTrace(new PrintWriter(trace));
            json.append(",\"exception\":");
            quote(json, String.valueOf(error));
            json.append(",\"stack\":");
            quote(json, trace.toString());
        }
        return json.append("}\n").toString();
    }

    private static boolean isReserved(String key) {
        return switch (key) {
            case "time", "level", "logger", "msg", "exception", "stack" -> true;
            default -> false;
        };
    }

    static void quote(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
