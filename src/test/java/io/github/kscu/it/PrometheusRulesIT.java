package io.github.kscu.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The shipped PrometheusRule, checked and unit-tested by the real promtool (built by {@code make tools}
 * from the Prometheus module): its {@code spec} is written out as a plain rule file and
 * {@code src/test/resources/prometheus/rules.test.yaml} runs against it.
 */
class PrometheusRulesIT {
    private static final Path RULE = Path.of("kustomize/components/prometheus/prometheusrule.yaml").toAbsolutePath();
    private static final Pattern ALERT = Pattern.compile("(?m)^\\s*alertname: (\\S+)$");

    @TempDir
    static Path dir;

    private static Path promtool;

    @BeforeAll
    static void writeRuleFileAndTests() throws IOException {
        promtool = ControlPlane.requireTools("the rules tests", "promtool").resolve("promtool");
        Map<String, Object> rule = new Yaml(new LoaderOptions()).load(Files.readString(RULE));
        assertThat(rule).containsEntry("kind", "PrometheusRule");
        Files.writeString(dir.resolve("rules.yaml"), new Yaml().dump(rule.get("spec")));
        Files.writeString(dir.resolve("rules.test.yaml"), testFile());
    }

    private static String testFile() throws IOException {
        try (InputStream in = PrometheusRulesIT.class.getResourceAsStream("/prometheus/rules.test.yaml")) {
            if (in == null) {
                throw new IOException("test resource /prometheus/rules.test.yaml is missing");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void theRulesAreValid() throws Exception {
        assertThat(promtool("check", "rules", dir.resolve("rules.yaml").toString())).contains("SUCCESS: 5 rules found");
    }

    @Test
    void everyAlertPassesItsUnitTests() throws Exception {
        assertThat(promtool("test", "rules", dir.resolve("rules.test.yaml").toString())).contains("SUCCESS");
    }

    /** A new alert without a test fails here, not in a cluster. */
    @Test
    void everyAlertHasUnitTests() throws IOException {
        List<String> shipped = Pattern.compile("(?m)^\\s*- alert: (\\S+)$").matcher(Files.readString(RULE)).results()
                .map(m -> m.group(1)).toList();
        Matcher tested = ALERT.matcher(Files.readString(dir.resolve("rules.test.yaml")));
        List<String> testedNames = tested.results().map(m -> m.group(1)).distinct().toList();
        assertThat(shipped).hasSize(5);
        assertThat(testedNames).containsExactlyInAnyOrderElementsOf(shipped);
    }

    /** The states the rules name are states the agent exports (State.label(), as /readyz spells them). */
    @Test
    void theStatesTheRulesNameExist() throws IOException {
        List<String> exported = Stream.of(State.values()).map(State::label).toList();
        List<String> named = Pattern.compile("state=~\"([^\"]+)\"").matcher(Files.readString(RULE)).results()
                .flatMap(m -> Stream.of(m.group(1).split("\\|"))).toList();
        assertThat(named).isNotEmpty();
        assertThat(exported).containsAll(named);
    }

    private static String promtool(String... args) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of(promtool.toString()), Stream.of(args)).toList())
                .redirectErrorStream(true).directory(dir.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("promtool %s:%n%s", String.join(" ", args), out).isZero();
        return out;
    }
}
