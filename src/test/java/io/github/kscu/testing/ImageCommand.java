package io.github.kscu.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The agent's command line as the image runs it, from a runtime built by {@code jlink/build-runtime.sh}:
 * {@code jlink/launch}, the one source of it (LaunchCommandTest holds the Dockerfile to it).
 */
public final class ImageCommand {
    /** The launch command's source, one argument per line. */
    public static final Path LAUNCH = Path.of("jlink/launch").toAbsolutePath();
    /** The launch command's line that names the AOT cache. */
    private static final String AOT_CACHE = "-XX:AOTCache=";

    private ImageCommand() {
    }

    /** The image's command exactly, with the runtime at {@code runtime}. */
    public static List<String> image(Path runtime) {
        try {
            return Files.readAllLines(LAUNCH).stream().filter(l -> !l.startsWith("#"))
                    .map(l -> l.replace("{runtime}", runtime.toString())).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The command that runs the agent from a runtime, with the production options file: the image's,
     * with {@code jvmFlags} where it names the AOT cache (none: no cache).
     */
    public static List<String> command(Path runtime, String... jvmFlags) {
        List<String> cmd = new ArrayList<>();
        for (String arg : image(runtime)) {
            if (arg.startsWith(AOT_CACHE)) {
                cmd.addAll(List.of(jvmFlags));
            } else {
                cmd.add(arg);
            }
        }
        return cmd;
    }

    /**
     * The agent as the DaemonSet runs it: no arguments, every setting in an environment that starts
     * empty (nothing of the caller's leaks in), the production options file.
     */
    public static ProcessBuilder agent(Path runtime, Map<String, String> settings, String... jvmFlags) {
        ProcessBuilder pb = new ProcessBuilder(command(runtime, jvmFlags));
        pb.environment().clear();
        pb.environment().putAll(settings);
        return pb;
    }
}
