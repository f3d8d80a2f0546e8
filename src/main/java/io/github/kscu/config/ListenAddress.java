package io.github.kscu.config;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A {@code host:port} (or {@code [v6]:port}); {@code host} is empty for all interfaces. */
public record ListenAddress(String host, int port) {
    private static final Pattern HOST_PORT = Pattern.compile("(?:\\[([0-9A-Fa-f:.]+)]|([^:\\[\\]]*)):(\\d{1,5})");

    /** The address, or {@code null} when {@code raw} is not {@code [host]:port} with a port up to 65535. */
    static ListenAddress parse(String raw) {
        Matcher m = HOST_PORT.matcher(raw.strip());
        if (!m.matches()) {
            return null;
        }
        int port = Integer.parseInt(m.group(3));
        return port > 65535 ? null : new ListenAddress(m.group(1) != null ? m.group(1) : m.group(2), port);
    }

    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
