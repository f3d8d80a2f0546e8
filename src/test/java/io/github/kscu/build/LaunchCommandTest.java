package io.github.kscu.build;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonParser;
import io.github.kscu.testing.ImageCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The launch command has one source, {@code jlink/launch}: the AOT cache trained with it is used only
 * when the image runs the same java, options and jar. {@code jlink/train-offline.sh} and the tests read
 * it; the Dockerfile's ENTRYPOINT cannot, so it is held to it here.
 */
class LaunchCommandTest {
    private static final Pattern ENTRYPOINT = Pattern.compile("(?m)^ENTRYPOINT (\\[(?:[^\\]\\\\]|\\\\\\n)*\\])");

    @Test
    void theDockerfilesEntrypointIsTheLaunchCommandAtOptKscu() throws Exception {
        Matcher m = ENTRYPOINT.matcher(Files.readString(Path.of("Dockerfile")));
        assertThat(m.find()).as("an exec-form ENTRYPOINT in the Dockerfile").isTrue();
        List<String> entrypoint = JsonParser.parseString(m.group(1).replace("\\\n", "")).getAsJsonArray().asList()
                .stream().map(e -> e.getAsString()).toList();
        assertThat(entrypoint).isEqualTo(ImageCommand.image(Path.of("/opt/kscu")));
    }

    @Test
    void theLaunchCommandNamesTheAotCacheOnceForTrainingToSwap() {
        List<String> image = ImageCommand.image(Path.of("/r"));
        assertThat(image).filteredOn(a -> a.startsWith("-XX:AOTCache=")).containsExactly("-XX:AOTCache=/r/app/app.aot");
        assertThat(image).startsWith("/r/jre/bin/java", "@/r/app/jvm.options").endsWith("-jar",
                "/r/app/kubelet-server-cert-untaint.jar");
        assertThat(ImageCommand.command(Path.of("/r"))).doesNotContain("-XX:AOTCache=/r/app/app.aot");
    }
}
