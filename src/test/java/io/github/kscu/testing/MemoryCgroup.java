package io.github.kscu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A memory cgroup (v1 or v2, whichever the host mounts) with a hard limit, for running the agent's real
 * command line as a node would: from a cold page cache, charged for every page it reads.
 *
 * <p>A cold start's page cache depends on the block device's readahead: each page fault on a mapped file
 * (libjvm.so, the AOT cache) reads that much around it, all charged to the cgroup. Linux's default is
 * 128 KiB, which is what a node's disk has unless someone changed it (EBS and persistent-disk volumes
 * included); some virtual machines advertise far more (8 MiB on the machine of docs/benchmarks.md), and
 * there a cold start is charged several times the agent's working set. {@link #kernelDefaultReadahead}
 * sets the device of a path to the default for the duration of a trial and restores it after.
 * Needs root.
 */
public final class MemoryCgroup implements AutoCloseable {
    /** Linux's default readahead ({@code VM_READAHEAD_PAGES}): 128 KiB. */
    public static final int DEFAULT_READAHEAD_KB = 128;

    private final Path dir;
    private final boolean v2;

    private MemoryCgroup(Path dir, boolean v2) {
        this.dir = dir;
        this.v2 = v2;
    }

    public static MemoryCgroup create(String name, long limitBytes) throws IOException {
        Path dir = Cgroups.create("memory", name);
        boolean v2 = Cgroups.v2("memory");
        Files.writeString(dir.resolve(v2 ? "memory.max" : "memory.limit_in_bytes"), Long.toString(limitBytes));
        return new MemoryCgroup(dir, v2);
    }

    /** Drops the page cache, so that what the next process reads is read from disk and charged to it. */
    public static void dropPageCache() throws IOException {
        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
    }

    /** {@code command}, started inside this cgroup from its first instruction. */
    public List<String> wrap(List<String> command) {
        return Cgroups.wrap(dir, command);
    }

    public long oomKills() throws IOException {
        String f = Files.readString(dir.resolve(v2 ? "memory.events" : "memory.oom_control"));
        Matcher m = Pattern.compile("oom_kill (\\d+)").matcher(f);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /** Times the limit was hit (v1 {@code memory.failcnt}, v2 {@code max} events): reclaim under pressure. */
    public long limitHits() throws IOException {
        if (v2) {
            Matcher m = Pattern.compile("(?m)^max (\\d+)").matcher(Files.readString(dir.resolve("memory.events")));
            return m.find() ? Long.parseLong(m.group(1)) : 0;
        }
        return Long.parseLong(Files.readString(dir.resolve("memory.failcnt")).strip());
    }

    /** The most memory charged at once so far (v1 {@code memory.max_usage_in_bytes}, v2 {@code memory.peak}). */
    public long peakBytes() throws IOException {
        return Long.parseLong(Files.readString(dir.resolve(v2 ? "memory.peak" : "memory.max_usage_in_bytes")).strip());
    }

    @Override
    public void close() throws IOException {
        Cgroups.remove(dir);
    }

    /**
     * Sets the readahead of the block device holding {@code path} to {@link #DEFAULT_READAHEAD_KB} until
     * closed, when it was larger; a no-op elsewhere (a device without a queue, e.g. overlay or tmpfs).
     */
    public static Readahead kernelDefaultReadahead(Path path) throws IOException {
        Path queue = readaheadFile(path);
        if (queue == null) {
            return new Readahead(null, -1, -1);
        }
        int before = Integer.parseInt(Files.readString(queue).strip());
        if (before > DEFAULT_READAHEAD_KB) {
            Files.writeString(queue, Integer.toString(DEFAULT_READAHEAD_KB));
        }
        return new Readahead(queue, before, Math.min(before, DEFAULT_READAHEAD_KB));
    }

    /** The device's readahead setting while a trial runs, and how to put it back. */
    public record Readahead(Path file, int beforeKb, int nowKb) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            if (file != null && beforeKb != nowKb) {
                Files.writeString(file, Integer.toString(beforeKb));
            }
        }
    }

    /** {@code /sys/dev/block/MAJ:MIN/queue/read_ahead_kb} of the device holding path (its disk, for a partition). */
    private static Path readaheadFile(Path path) throws IOException {
        long dev = (Long) Files.getAttribute(path, "unix:dev");
        long major = (dev >>> 8) & 0xfff;
        long minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
        Path sys = Path.of("/sys/dev/block/" + major + ":" + minor);
        if (!Files.exists(sys)) {
            return null;
        }
        Path real = sys.toRealPath();
        for (Path p : new Path[] {real, real.getParent()}) {
            Path f = p.resolve("queue/read_ahead_kb");
            if (Files.isWritable(f)) {
                return f;
            }
        }
        return null;
    }
}
