package io.github.kscu.cert;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestCerts.Issued;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file source reacts to inotify events, not to its poll: every wait here allows a 60 s poll, so a
 * prompt wake-up can only come from the directory watch.
 */
class FileCertSourceTest {
    private static final String NODE = "node-a";
    private static final Duration POLL = Duration.ofSeconds(60);
    private static final long PROMPT_MS = 5_000; // generous for a loaded CI box; the poll would take 60 s
    private static Issued ca;

    @TempDir
    Path root;
    private FileCertSource source;

    @BeforeAll
    static void issue() {
        ca = TestCerts.ca("test-ca");
    }

    @AfterEach
    void close() {
        if (source != null) {
            source.close();
        }
    }

    private FileCertSource open(Path file) {
        source = new FileCertSource(file, new CertificateValidator(NODE, null, false), Clock.systemUTC());
        return source;
    }

    /** Waits (on a background thread) until the source reports a valid certificate; returns the elapsed ms. */
    private CompletableFuture<Long> untilValid() {
        return CompletableFuture.supplyAsync(() -> {
            long start = System.nanoTime();
            try {
                while (!source.check().isValid()) {
                    source.awaitChange(POLL);
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return (System.nanoTime() - start) / 1_000_000;
        });
    }

    @Test
    void certificateAppearingInAnExistingDirectory() throws Exception {
        Path pki = Files.createDirectories(root.resolve("pki"));
        Path current = pki.resolve("kubelet-server-current.pem");
        open(current);
        assertThat(source.check().isValid()).isFalse();
        CompletableFuture<Long> waited = untilValid();
        Thread.sleep(300);
        writeKubeletStyle(pki, "2026-11-25-10-00-00");
        assertThat(waited.get(PROMPT_MS, TimeUnit.MILLISECONDS)).isLessThan(PROMPT_MS);
    }

    @Test
    void directoryThatDoesNotExistYet() throws Exception {
        Path pki = root.resolve("var/lib/kubelet/pki");
        open(pki.resolve("kubelet-server-current.pem"));
        assertThat(((CertCheck.NotYet) source.check()).problem()).isEqualTo(CertCheck.Problem.MISSING);
        CompletableFuture<Long> waited = untilValid();
        Thread.sleep(200);
        Files.createDirectories(root.resolve("var/lib"));
        Thread.sleep(200);
        Files.createDirectories(pki);
        Thread.sleep(200);
        writeKubeletStyle(pki, "2026-11-25-10-00-00");
        assertThat(waited.get(PROMPT_MS, TimeUnit.MILLISECONDS)).isLessThan(PROMPT_MS);
    }

    @Test
    void kubeletRotationSwapsTheSymlinkAtomically() throws Exception {
        Path pki = Files.createDirectories(root.resolve("pki"));
        Instant now = Instant.now();
        Issued expired = TestCerts.serving(ca, "system:node:" + NODE, now.minus(Duration.ofDays(2)),
                now.minus(Duration.ofDays(1)));
        Path old = expired.writeKubeletPem(pki.resolve("kubelet-server-2026-11-24-00-00-00.pem"));
        Path current = Files.createSymbolicLink(pki.resolve("kubelet-server-current.pem"), old.getFileName());
        open(current);
        assertThat(((CertCheck.NotYet) source.check()).problem()).isEqualTo(CertCheck.Problem.EXPIRED);
        CompletableFuture<Long> waited = untilValid();
        Thread.sleep(300);
        writeKubeletStyle(pki, "2026-11-25-10-00-00");
        assertThat(waited.get(PROMPT_MS, TimeUnit.MILLISECONDS)).isLessThan(PROMPT_MS);
    }

    @Test
    void partialWriteIsNotYetThenTheCompletedFileIsSeen() throws Exception {
        Path pki = Files.createDirectories(root.resolve("pki"));
        Path file = pki.resolve("kubelet-server-current.pem");
        open(file);
        String pem = TestCerts.serving(ca, NODE).kubeletPem();
        Files.writeString(file, pem.substring(0, 200), StandardCharsets.US_ASCII);
        assertThat(((CertCheck.NotYet) source.check()).problem()).isEqualTo(CertCheck.Problem.TRUNCATED);
        CompletableFuture<Long> waited = untilValid();
        Thread.sleep(300);
        Files.writeString(file, pem, StandardCharsets.US_ASCII); // in place, as a non-atomic writer would
        assertThat(waited.get(PROMPT_MS, TimeUnit.MILLISECONDS)).isLessThan(PROMPT_MS);
    }

    @Test
    void pollStillWorksWhenNoEventArrives() throws Exception {
        Path pki = Files.createDirectories(root.resolve("pki"));
        Path file = pki.resolve("kubelet-server-current.pem");
        open(file);
        source.check();
        long start = System.nanoTime();
        source.awaitChange(Duration.ofMillis(300));
        long ms = (System.nanoTime() - start) / 1_000_000;
        assertThat(ms).isBetween(250L, 5_000L);
    }

    /** What the kubelet does: write a new timestamped PEM, then atomically rename a new symlink over the old. */
    private static void writeKubeletStyle(Path pki, String stamp) throws Exception {
        TestCerts.serving(ca, NODE).installLikeKubelet(pki.resolve("kubelet-server-current.pem"));
    }
}
