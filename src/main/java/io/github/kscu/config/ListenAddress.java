package io.github.kscu.config;

/** Where the health server listens; {@code host} is empty for all interfaces. */
public record ListenAddress(String host, int port) {
    @Override
    public String toString() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
