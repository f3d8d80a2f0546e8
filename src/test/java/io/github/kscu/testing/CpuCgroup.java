package io.github.kscu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A CPU cgroup with a CFS quota, as the kubelet gives a container with a CPU limit: {@code millicores}
 * of each 100 ms period. cgroup v1 ({@code cpu.cfs_quota_us}) or v2 ({@code cpu.max}); needs root.
 */
public final class CpuCgroup implements AutoCloseable {
    /** The kubelet's CFS period. */
    private static final int PERIOD_US = 100_000;

    private final Path dir;

    private CpuCgroup(Path dir) {
        this.dir = dir;
    }

    /** A new cgroup allowing {@code millicores} (1000 = one core) of CPU. */
    public static CpuCgroup create(String name, int millicores) throws IOException {
        Path dir = Cgroups.create("cpu", name);
        long quota = (long) PERIOD_US * millicores / 1000;
        if (Cgroups.v2("cpu")) {
            Files.writeString(dir.resolve("cpu.max"), quota + " " + PERIOD_US);
        } else {
            Files.writeString(dir.resolve("cpu.cfs_period_us"), Integer.toString(PERIOD_US));
            Files.writeString(dir.resolve("cpu.cfs_quota_us"), Long.toString(quota));
        }
        return new CpuCgroup(dir);
    }

    /** {@code command}, started inside this cgroup from its first instruction. */
    public List<String> wrap(List<String> command) {
        return Cgroups.wrap(dir, command);
    }

    @Override
    public void close() throws IOException {
        Cgroups.remove(dir);
    }
}
