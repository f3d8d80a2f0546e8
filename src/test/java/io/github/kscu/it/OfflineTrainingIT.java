package io.github.kscu.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.testing.ImageCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Dockerfile's training step, jlink/train-offline.sh, on a copy of the runtime: it writes a cache
 * that the same runtime and options then accept ({@code -XX:AOTMode=on} fails on a rejected cache).
 */
class OfflineTrainingIT {
    @Test
    void offlineTrainingWritesACacheTheRuntimeUses(@TempDir Path dir) throws Exception {
        Path runtime = Path.of("target/runtime").toAbsolutePath();
        assertThat(runtime.resolve("jre/bin/java")).as("run `make runtime` first (make test does)").exists();
        Path copy = dir.resolve("runtime");
        run(List.of("cp", "-a", runtime.toString(), copy.toString()), dir);
        Files.deleteIfExists(copy.resolve("app/app.aot"));
        run(List.of("bash", Path.of("jlink/train-offline.sh").toAbsolutePath().toString(), copy.toString()), dir);
        assertThat(copy.resolve("app/app.aot")).isRegularFile();
        List<String> cmd = new ArrayList<>(ImageCommand.command(copy, "-XX:AOTCache=" + copy.resolve("app/app.aot"),
                "-XX:AOTMode=on"));
        cmd.addAll(List.of("--node-name", "n", "--print-config"));
        assertThat(run(cmd, dir)).contains("node-name=n");
    }

    private static String run(List<String> cmd, Path dir) throws Exception {
        Path log = Files.createTempFile(dir, "run", ".log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        String out = Files.readString(log);
        assertThat(p.exitValue()).as("%s:%n%s", cmd, out).isZero();
        return out;
    }
}
