package io.github.kscu.cert;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * One inotify instance for the whole process, shared by every file source.
 *
 * <p>Why shared: each JDK {@link WatchService} is an inotify instance plus a polling thread, and Linux
 * allows 128 instances per user by default. A thousand agents in one JVM (the library API, the scale
 * benchmark) would exhaust that; one service with a thousand watches does not.
 */
public final class DirectoryWatcher {
    private static final TaggedLogger LOG = Logger.tag("cert");
    private static volatile DirectoryWatcher shared;

    private final WatchService service;
    private final Map<Path, WatchKey> keys = new HashMap<>();
    private final Map<WatchKey, Set<Runnable>> listeners = new HashMap<>();

    private DirectoryWatcher(WatchService service) {
        this.service = service;
        Thread.ofPlatform().daemon().name("kscu-inotify").start(this::dispatch);
    }

    public static DirectoryWatcher shared() throws IOException {
        DirectoryWatcher w = shared;
        if (w == null) {
            synchronized (DirectoryWatcher.class) {
                w = shared;
                if (w == null) {
                    w = new DirectoryWatcher(FileSystems.getDefault().newWatchService());
                    shared = w;
                }
            }
        }
        return w;
    }

    /** A registration; closing it stops the callbacks. */
    public interface Subscription extends AutoCloseable {
        Path directory();

        /** False once the directory was deleted or moved: subscribe again. */
        boolean isValid();

        @Override
        void close();
    }

    /** Calls {@code onChange} (on the watcher thread; keep it short) for every event in {@code dir}. */
    public synchronized Subscription subscribe(Path dir, Runnable onChange) throws IOException {
        WatchKey key = keys.get(dir);
        if (key == null || !key.isValid()) {
            key = dir.register(service, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
                    StandardWatchEventKinds.ENTRY_DELETE);
            keys.put(dir, key);
        }
        WatchKey registered = key;
        listeners.computeIfAbsent(key, k -> new CopyOnWriteArraySet<>()).add(onChange);
        return new Subscription() {
            @Override
            public Path directory() {
                return dir;
            }

            @Override
            public boolean isValid() {
                return registered.isValid();
            }

            @Override
            public void close() {
                unsubscribe(dir, registered, onChange);
            }
        };
    }

    private synchronized void unsubscribe(Path dir, WatchKey key, Runnable onChange) {
        Set<Runnable> set = listeners.get(key);
        if (set != null && set.remove(onChange) && set.isEmpty()) {
            listeners.remove(key);
            keys.remove(dir, key);
            key.cancel();
        }
    }

    private void dispatch() {
        while (true) {
            WatchKey key;
            try {
                key = service.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            key.pollEvents();
            boolean valid = key.reset();
            Set<Runnable> targets;
            synchronized (this) {
                targets = listeners.getOrDefault(key, Set.of());
                if (!valid) {
                    listeners.remove(key);
                    keys.values().remove(key);
                }
            }
            for (Runnable r : targets) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    LOG.error(e, "watch listener failed");
                }
            }
        }
    }
}
