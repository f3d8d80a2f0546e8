package io.github.kscu.log;

import java.io.OutputStream;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import org.tinylog.core.LogEntry;

/**
 * The text format: {@code time level logger message}, one line per entry. Every control character in
 * the message is escaped ({@code \r}, {@code \n}, ESC as {@code \x1b}...), so a value from outside (a
 * certificate subject, an apiserver's error text) can neither start a forged line nor drive a terminal.
 * A stack trace follows on lines that start with a tab, each escaped the same way.
 */
public final class TextStdoutWriter extends StdoutWriter {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX")
            .withZone(ZoneId.systemDefault());

    /** Called by tinylog with the writer's properties, none of which we need. */
    public TextStdoutWriter(Map<String, String> properties) {
        this(stdout());
    }

    TextStdoutWriter(OutputStream out) {
        super(out);
    }

    @Override
    String line(LogEntry entry) {
        return format(TIME.format(entry.getTimestamp().toInstant()), entry.getLevel().name(), logger(entry),
                entry.getMessage(), entry.getException());
    }

    static String format(String time, String level, String logger, String message, Throwable error) {
        StringBuilder b = new StringBuilder(160).append(time).append(' ');
        pad(b, level);
        pad(b, logger == null ? "" : logger);
        escape(b, message == null ? "" : message);
        if (error != null) {
            b.append(" error=");
            escape(b, String.valueOf(error));
            trace(b, error);
        }
        return b.append('\n').toString();
    }

    /** The stack, and each cause's, on tab-indented lines; messages escaped like the rest. */
    private static void trace(StringBuilder b, Throwable error) {
        java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Throwable t = error; t != null && seen.add(t); t = t.getCause()) {
            if (t != error) {
                b.append("\n\tCaused by: ");
                escape(b, String.valueOf(t));
            }
            for (StackTraceElement frame : t.getStackTrace()) {
                b.append("\n\tat ");
                escape(b, frame.toString());
            }
        }
    }

    private static void pad(StringBuilder b, String s) {
        b.append(s);
        b.repeat(' ', Math.max(1, 6 - s.length()));
    }

    /** Appends {@code s} with every control character (C0, DEL, C1, line separators) written as an escape. */
    static void escape(StringBuilder b, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\u2028', '\u2029' -> b.append(String.format("\\u%04x", (int) c));
                default -> {
                    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
                        b.append(String.format("\\x%02x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
    }
}
