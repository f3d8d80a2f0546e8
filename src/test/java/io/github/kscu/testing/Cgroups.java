package io.github.kscu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What {@link MemoryCgroup} and {@link CpuCgroup} share: making, entering and removing a cgroup. */
final class Cgroups {
    private static final Path ROOT = Path.of("/sys/fs/cgroup");

    private Cgroups() {
    }

    /** True on cgroup v2 with {@code controller} enabled at the root. */
    static boolean v2(String controller) throws IOException {
        Path controllers = ROOT.resolve("cgroup.controllers");
        return Files.exists(controllers) && Files.readString(controllers).contains(controller);
    }

    /** A new, empty cgroup {@code name} of {@code controller}; fails loudly where it cannot be made. */
    static Path create(String controller, String name) throws IOException {
        boolean v2 = v2(controller);
        Path v1 = ROOT.resolve(controller);
        if (!v2 && !Files.isDirectory(v1)) {
            throw new IllegalStateException("a " + controller + " cgroup is needed: neither cgroup v1 " + v1 + " nor v2 "
                    + ROOT + " has the " + controller + " controller");
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("creating a " + controller + " cgroup needs root (CI runs as root)");
        }
        Path dir = (v2 ? ROOT : v1).resolve(name);
        if (Files.isDirectory(dir)) {
            Files.delete(dir); // left by a run that was killed; fails loudly if a process is still in it
        }
        Files.createDirectories(dir);
        return dir;
    }

    /** {@code command}, started inside cgroup {@code dir} from its first instruction. */
    static List<String> wrap(Path dir, List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("/bin/bash", "-c",
                "echo $$ > " + dir.resolve("cgroup.procs") + " && exec \"$@\"", "in-cgroup"));
        cmd.addAll(command);
        return cmd;
    }

    /** Removes cgroup {@code dir} once its processes are gone (5 s at most). */
    static void remove(Path dir) throws IOException {
        try {
            for (int i = 0; i < 50 && !Files.readString(dir.resolve("cgroup.procs")).isBlank(); i++) {
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(dir);
    }
}
