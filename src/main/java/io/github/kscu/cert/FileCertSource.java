package io.github.kscu.cert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * The kubelet's PEM file, watched through its directory.
 *
 * <p>The directory, not the file, is watched: the kubelet rotates by writing a new timestamped PEM and
 * atomically renaming the {@code kubelet-server-current.pem} symlink, which inotify reports as events in
 * the directory. When the directory does not exist yet (a node still bootstrapping), the nearest existing
 * ancestor is watched and the watch moves down as directories appear. The caller's poll interval is only
 * a safety net for filesystems without inotify events (some network and overlay mounts).
 */
public final class FileCertSource implements CertSource {
    private static final TaggedLogger LOG = Logger.tag("cert");

    private final Path file;
    private final CertificateValidator validator;
    private final Clock clock;
    private final Semaphore changed = new Semaphore(0);
    private DirectoryWatcher.Subscription subscription;
    private boolean watchUnavailableLogged;

    public FileCertSource(Path file, CertificateValidator validator, Clock clock) {
        this.file = file.toAbsolutePath();
        this.validator = validator;
        this.clock = clock;
    }

    @Override
    public CertCheck check() {
        // Subscribing before looking closes the gap in which a file could appear unseen.
        boolean moved = ensureWatch();
        if (moved) {
            changed.drainPermits();
        }
        return validator.checkFile(file, clock.instant());
    }

    @Override
    public boolean awaitChange(Duration max) throws InterruptedException {
        if (ensureWatch()) {
            return true; // the watch moved closer to the file: look again at once
        }
        if (changed.tryAcquire(max.toNanos(), TimeUnit.NANOSECONDS)) {
            changed.drainPermits();
            return true;
        }
        return false;
    }

    /** Watches the nearest existing ancestor of the file; true if the watched directory changed. */
    private boolean ensureWatch() {
        Path target = nearestExistingDirectory(file.getParent());
        if (subscription != null && subscription.isValid() && subscription.directory().equals(target)) {
            return false;
        }
        if (subscription != null) {
            subscription.close();
            subscription = null;
        }
        if (target == null) {
            return false;
        }
        try {
            subscription = DirectoryWatcher.shared().subscribe(target, changed::release);
            LOG.debug("watching directory={} for file={}", target, file);
            return true;
        } catch (IOException e) {
            if (!watchUnavailableLogged) {
                watchUnavailableLogged = true;
                LOG.warn("inotify watch unavailable, polling only directory={} error=\"{}\"", target, e.getMessage());
            }
            return false;
        }
    }

    private static Path nearestExistingDirectory(Path dir) {
        Path p = dir;
        while (p != null && !Files.isDirectory(p)) {
            p = p.getParent();
        }
        return p;
    }

    @Override
    public void close() {
        if (subscription != null) {
            subscription.close();
            subscription = null;
        }
    }
}
