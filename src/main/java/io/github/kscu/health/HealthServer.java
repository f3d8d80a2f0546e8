package io.github.kscu.health;

import io.github.kscu.config.ListenAddress;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.function.Supplier;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * {@code /healthz}, {@code /readyz} and {@code /metrics}: HTTP/1.1 GET and HEAD, one answer per
 * connection, on one thread with a selector.
 *
 * <p>The port is on the host network, so anyone who reaches the node can connect. Every connection is
 * bounded: {@link #MAX_REQUEST_BYTES} of request head, {@link #REQUEST_TIMEOUT} from accept to a
 * complete head (slow headers, idle connections), {@link #MAX_CONNECTIONS} open at once, the oldest
 * closed first to make room, so a flood can neither exhaust memory nor keep a probe out. A connection
 * costs a small object and its socket; no thread. Of its head only the request line is kept (at most
 * {@link #MAX_LINE_BYTES}): the header lines are counted and scanned for the blank line that ends them,
 * never stored, so all connections at their limits hold at most {@code MAX_CONNECTIONS * MAX_LINE_BYTES}
 * (2 MiB) where whole heads would take 16 MiB of the 24 MiB heap.
 *
 * <p>Why not the JDK's HttpServer (used before): it gives every connection an exchange and a thread from
 * its executor, and its limits are global system properties with coarse timers; 570 stalled
 * {@code GET /metrics} connections took the agent down with OutOfMemoryError under the shipped heap.
 */
public final class HealthServer implements AutoCloseable {
    private static final TaggedLogger LOG = Logger.tag("health");
    public static final int MAX_CONNECTIONS = 4096;
    public static final int MAX_REQUEST_BYTES = 4096;
    /** The request line: a method, one of three paths, a version. Longer is answered 414. */
    public static final int MAX_LINE_BYTES = 512;
    static final long REQUEST_TIMEOUT = 5_000;

    /** What {@code /readyz} answers: ready, and a short human-readable reason either way. */
    public record Readiness(boolean ready, String detail) {
    }

    private final ServerSocketChannel server;
    private final Selector selector;
    private final HealthRoutes routes;
    private final ByteBuffer readBuffer = ByteBuffer.allocate(2048);
    /** Open connections, oldest first: the order in which they are evicted and time out. */
    private final LinkedHashSet<Connection> open = new LinkedHashSet<>();
    private final Thread thread;
    private volatile boolean closed;

    private HealthServer(ServerSocketChannel server, Selector selector, Supplier<Readiness> readiness,
            PrometheusRegistry registry) {
        this.server = server;
        this.selector = selector;
        this.routes = new HealthRoutes(readiness, registry);
        this.thread = Thread.ofPlatform().daemon().name("kscu-health").unstarted(this::loop);
    }

    public static HealthServer start(ListenAddress address, Supplier<Readiness> readiness,
            PrometheusRegistry registry) throws IOException {
        InetSocketAddress bind = address.host().isEmpty()
                ? new InetSocketAddress(address.port())
                : new InetSocketAddress(address.host(), address.port());
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(bind, 128);
            server.configureBlocking(false);
            Selector selector = Selector.open();
            server.register(selector, SelectionKey.OP_ACCEPT);
            HealthServer health = new HealthServer(server, selector, readiness, registry);
            health.thread.start();
            return health;
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.socket().getLocalPort();
    }

    private void loop() {
        while (!closed) {
            try {
                selector.select(250);
                Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey key = keys.next();
                    keys.remove();
                    if (!key.isValid()) {
                        continue;
                    }
                    if (key.isAcceptable()) {
                        accept();
                    } else if (key.isReadable()) {
                        read(key, (Connection) key.attachment());
                    } else if (key.isWritable()) {
                        write(key, (Connection) key.attachment());
                    }
                }
                expire();
            } catch (IOException | RuntimeException e) {
                if (!closed) {
                    LOG.warn("health server error, continuing error=\"{}\"", String.valueOf(e));
                    try {
                        Thread.sleep(100); // never a busy loop on a persistent error
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    private void accept() throws IOException {
        while (true) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                // Out of file descriptors: make room by closing the oldest, or the backlog spins the loop.
                if (open.isEmpty()) {
                    throw e;
                }
                close(open.removeFirst());
                continue;
            }
            if (c == null) {
                return;
            }
            if (open.size() >= MAX_CONNECTIONS) {
                close(open.removeFirst());
            }
            c.configureBlocking(false);
            Connection conn = new Connection(c, System.currentTimeMillis() + REQUEST_TIMEOUT);
            c.register(selector, SelectionKey.OP_READ, conn);
            open.addLast(conn);
        }
    }

    private void read(SelectionKey key, Connection conn) {
        try {
            readBuffer.clear();
            int n = conn.channel.read(readBuffer);
            if (n < 0) {
                drop(conn);
                return;
            }
            byte[] bytes = readBuffer.array();
            for (int i = 0; i < n; i++) {
                boolean complete = conn.take(bytes[i]);
                if (conn.headBytes > MAX_REQUEST_BYTES) {
                    answer(key, conn, HealthRoutes.bytes(HealthRoutes.Answer.text(431, "request head too large", false)));
                    return;
                }
                if (complete) {
                    answer(key, conn, conn.lineLength > MAX_LINE_BYTES
                            ? HealthRoutes.bytes(HealthRoutes.Answer.text(414, "request line too long", false))
                            : routes.respond(new String(conn.line, 0, conn.lineLength, StandardCharsets.ISO_8859_1)));
                    return;
                }
            }
        } catch (IOException e) {
            drop(conn);
        }
    }

    private void answer(SelectionKey key, Connection conn, ByteBuffer answer) {
        conn.answer = answer;
        conn.line = null;
        key.interestOps(SelectionKey.OP_WRITE);
        write(key, conn);
    }

    private void write(SelectionKey key, Connection conn) {
        try {
            conn.channel.write(conn.answer);
            if (!conn.answer.hasRemaining()) {
                drop(conn);
            }
        } catch (IOException e) {
            drop(conn);
        }
    }

    /** Closes connections past their deadline: slow or idle clients, and answers nobody reads. */
    private void expire() {
        long now = System.currentTimeMillis();
        while (!open.isEmpty() && open.getFirst().deadline <= now) {
            close(open.removeFirst());
        }
    }

    private void drop(Connection conn) {
        open.remove(conn);
        close(conn);
    }

    private static void close(Connection conn) {
        try {
            conn.channel.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        selector.wakeup();
        try {
            thread.join(2_000);
            server.close();
            selector.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // closing anyway
        }
        open.forEach(HealthServer::close);
        open.clear();
    }
}
