package io.github.kscu.config;

import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses durations the way operators write them: a bare number of seconds (the Go sample's flags are
 * integers), or Go-style unit sequences such as {@code 1m15s}, {@code 500ms} or {@code 1.5h}.
 */
public final class Durations {
    private static final Pattern BARE_SECONDS = Pattern.compile("\\d{1,9}");
    private static final Pattern COMPONENT = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|h|m|s)");

    private Durations() {
    }

    /** The parsed duration, or empty for anything malformed or negative. */
    public static Optional<Duration> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        String s = text.strip();
        if (BARE_SECONDS.matcher(s).matches()) {
            return Optional.of(Duration.ofSeconds(Long.parseLong(s)));
        }
        if (s.isEmpty()) {
            return Optional.empty();
        }
        Matcher m = COMPONENT.matcher(s);
        long nanos = 0;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                return Optional.empty();
            }
            end = m.end();
            double amount = Double.parseDouble(m.group(1));
            long unitNanos = switch (m.group(2)) {
                case "h" -> 3_600_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "s" -> 1_000_000_000L;
                default -> 1_000_000L;
            };
            double add = amount * unitNanos;
            if (add > Long.MAX_VALUE - nanos) {
                return Optional.empty();
            }
            nanos += (long) add;
        }
        return end == s.length() ? Optional.of(Duration.ofNanos(nanos)) : Optional.empty();
    }

    /** Formats like Go's {@code time.Duration.String()}: {@code 1m15s}, {@code 500ms}, {@code 0s}. */
    public static String format(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.compareTo(Duration.ofSeconds(1)) < 0) {
            return d.toMillis() + "ms";
        }
        StringBuilder sb = new StringBuilder();
        long h = d.toHours();
        int m = d.toMinutesPart();
        int s = d.toSecondsPart();
        int ms = d.toMillisPart();
        if (h > 0) {
            sb.append(h).append('h');
        }
        if (m > 0) {
            sb.append(m).append('m');
        }
        if (s > 0 || ms > 0) {
            sb.append(s);
            if (ms > 0) {
                sb.append('.').append(String.format("%03d", ms).replaceAll("0+$", ""));
            }
            sb.append('s');
        }
        return sb.toString();
    }
}
