package io.github.kscu.bench;

import static io.github.kscu.bench.Bench.RUNTIME;
import static io.github.kscu.bench.Bench.say;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The image's own layers, gzipped as a registry stores them. */
final class Layers {
    private Layers() {
    }

    /** Runtime, application and AOT cache. */
    static void run(Map<String, Object> summary, Map<String, Object> details) throws Exception {
        Map<String, Object> layers = imageLayers();
        summary.put("image_app_layers_mb", layers.get("app_layers_mb"));
        details.put("image", layers);
        say("image layers (gzip): %s", layers);
    }

    private static Map<String, Object> imageLayers() throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        long jre = gzipTarBytes("jre");
        long app = gzipTarBytes("app/kubelet-server-cert-untaint.jar app/lib app/jvm.options");
        long aot = gzipTarBytes("app/app.aot");
        out.put("runtime_mb", jre / 1e6);
        out.put("app_mb", app / 1e6);
        out.put("aot_cache_mb", aot / 1e6);
        out.put("app_layers_mb", (jre + app + aot) / 1e6);
        out.put("runtime_on_disk_mb", du(RUNTIME.resolve("jre")) / 1e6);
        out.put("base", "gcr.io/distroless/base-debian12 (not measured here: no registry access)");
        return out;
    }

    private static long gzipTarBytes(String paths) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "tar -C '" + RUNTIME + "' -cf - " + paths + " | gzip -6 | wc -c")
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        p.waitFor();
        return Long.parseLong(out);
    }

    private static long du(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
        }
    }
}
