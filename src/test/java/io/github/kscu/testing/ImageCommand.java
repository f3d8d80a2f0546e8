package io.github.kscu.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The agent's command line as the image runs it, from a runtime built by {@code jlink/build-runtime.sh}. */
public final class ImageCommand {
    private ImageCommand() {
    }

    /** The command that runs the agent from a runtime, with the production options file. */
    public static List<String> command(Path runtime, String... jvmFlags) {
        List<String> cmd = new ArrayList<>(List.of(runtime.resolve("jre/bin/java").toString(),
                "@" + runtime.resolve("app/jvm.options")));
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(List.of("-jar", runtime.resolve("app/kubelet-server-cert-untaint.jar").toString()));
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
