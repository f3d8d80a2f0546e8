package io.github.kscu.log;

import io.github.kscu.config.Settings.LogFormat;
import io.github.kscu.config.Settings.LogLevel;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import org.tinylog.configuration.Configuration;

/** Configures tinylog once, before the first log line, from the settings. */
public final class LogSetup {
    private LogSetup() {
    }

    public static void configure(LogFormat format, LogLevel level) {
        if (Configuration.isFrozen()) {
            return; // already logging (several runs of Main in one test JVM): the first configuration stays
        }
        Map<String, String> c = new HashMap<>();
        c.put("level", level.name().toLowerCase(Locale.ROOT));
        // client-java and OkHttp log through SLF4J into tinylog; their INFO chatter is not ours to show.
        String quiet = level.compareTo(LogLevel.WARN) > 0 ? level.name().toLowerCase(Locale.ROOT) : "warn";
        c.put("level@io.kubernetes", quiet);
        c.put("level@okhttp3", quiet);
        // Our writers, not tinylog's console writer: they escape control characters (see TextStdoutWriter).
        c.put("writer", (format == LogFormat.JSON ? JsonStdoutWriter.class : TextStdoutWriter.class).getName());
        c.put("writingthread", "false");
        // Main stops tinylog itself after its last line; tinylog's own shutdown hook could run first and
        // drop the "stopped" line that tells an operator the exit was clean.
        c.put("autoshutdown", "false");
        Configuration.replace(c);
    }
}
