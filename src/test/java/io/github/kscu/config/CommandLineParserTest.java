package io.github.kscu.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.kscu.config.CommandLineParser.Outcome;
import io.github.kscu.config.Settings.LogLevel;
import io.github.kscu.taint.TaintSelector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class CommandLineParserTest {
    private static final Map<String, String> NODE = Map.of("NODE_NAME", "node-a");

    static Settings run(Map<String, String> env, String... args) throws InvalidSettingException {
        Outcome o = CommandLineParser.parse(args, env);
        assertThat(o).isInstanceOf(Outcome.Run.class);
        return ((Outcome.Run) o).settings();
    }

    @Test
    void goSampleFlagsWorkUnchanged(@TempDir Path dir) throws Exception {
        Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), "apiVersion: v1\n");
        Settings s = run(Map.of(), "-taint-key", "node.example.com/cert-pending", "-cert-check-interval", "5",
                "-startup-jitter", "3", "-taint-watcher-duration", "30", "-cert-check-duration", "75",
                "-skip-cert-check", "-node-name", "n1", "-kubeconfig", kubeconfig.toString(), "-v", "4");
        assertThat(s.taints()).containsExactly(new TaintSelector("node.example.com/cert-pending", null));
        assertThat(s.certCheckInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.startupJitter()).isEqualTo(Duration.ofSeconds(3));
        assertThat(s.taintWatcherDuration()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.certCheckDuration()).isEqualTo(Duration.ofSeconds(75));
        assertThat(s.skipCertCheck()).isTrue();
        assertThat(s.nodeName()).isEqualTo("n1");
        assertThat(s.kubeconfig()).isEqualTo(kubeconfig);
        assertThat(s.logLevel()).isEqualTo(LogLevel.DEBUG);
    }

    @Test
    void noArgumentsMeansTheEnvironmentAloneAsWithFlagsThatRepeatIt() throws Exception {
        // No arguments takes a path without picocli (start-up time); it must agree with the full one.
        Map<String, String> env = Map.of("NODE_NAME", "n1", "TAINT_KEY", "a.io/x:NoExecute", "SETTLE_DURATION", "2m",
                "MODE", "continuous", "LOG_FORMAT", "json");
        assertThat(run(env)).isEqualTo(run(env, "--node-name", "n1"));
        assertThatThrownBy(() -> CommandLineParser.parse(new String[0], Map.of("NODE_NAME", "n1", "MODE", "sometimes")))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("MODE")
                .hasMessageContaining("sometimes");
        assertThatThrownBy(() -> CommandLineParser.parse(new String[0], Map.of()))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessageContaining("NODE_NAME");
    }

    @Test
    void goStyleEqualsFormAndGnuFlags() throws Exception {
        assertThat(run(NODE, "-taint-key=a.io/x").taints()).containsExactly(new TaintSelector("a.io/x", null));
        assertThat(run(NODE, "--taint-key=a.io/x:NoExecute").taints())
                .containsExactly(new TaintSelector("a.io/x", "NoExecute"));
        assertThat(run(NODE, "--skip-cert-check=false").skipCertCheck()).isFalse();
        assertThat(run(NODE, "--require-cert-identity").requireCertIdentity()).isTrue();
    }

    @Test
    void flagsWinOverEnvironmentWhichWinsOverDefaults() throws Exception {
        Map<String, String> env = Map.of("NODE_NAME", "from-env", "SETTLE_DURATION", "1m", "MODE", "continuous");
        Settings s = run(env, "--node-name", "from-flag", "--settle-duration", "2m");
        assertThat(s.nodeName()).isEqualTo("from-flag");
        assertThat(s.settleDuration()).isEqualTo(Duration.ofMinutes(2));
        assertThat(s.mode()).isEqualTo(Settings.Mode.CONTINUOUS);
        assertThat(s.certCheckDuration()).isEqualTo(Duration.ofSeconds(75));
    }

    @ParameterizedTest(name = "-v {0} -> {1}")
    @CsvSource({"0, INFO", "2, INFO", "3, DEBUG", "4, DEBUG", "5, TRACE", "10, TRACE"})
    void verbosityMapsToALevel(String v, LogLevel level) throws Exception {
        assertThat(run(NODE, "-v", v).logLevel()).isEqualTo(level);
        assertThat(run(NODE, "-v=" + v).logLevel()).isEqualTo(level);
    }

    @Test
    void explicitLogLevelWinsOverVerbosity() throws Exception {
        assertThat(run(NODE, "-v", "5", "--log-level", "warn").logLevel()).isEqualTo(LogLevel.WARN);
    }

    @Test
    void badVerbosityIsOneLine() {
        assertThatThrownBy(() -> run(NODE, "-v", "loud"))
                .hasMessage("invalid -v \"loud\"; accepted: a verbosity 0-10 (0-2 info, 3-4 debug, 5-10 trace), or use"
                        + " --log-level");
    }

    @Test
    void unknownFlagIsNamed() {
        assertThatThrownBy(() -> run(NODE, "--taint", "x"))
                .isInstanceOf(InvalidSettingException.class)
                .hasMessage("unknown flag --taint; run --help for every setting");
        assertThatThrownBy(() -> run(NODE, "stray")).hasMessage("unexpected argument \"stray\"; run --help for every setting");
    }

    @Test
    void missingFlagValueIsOneLine() {
        assertThatThrownBy(() -> run(NODE, "--taint-key"))
                .isInstanceOf(InvalidSettingException.class)
                .satisfies(e -> assertThat(e.getMessage()).contains("--taint-key").doesNotContain("\n"));
    }

    @Test
    void invalidFlagValueNamesTheFlag() {
        assertThatThrownBy(() -> run(NODE, "--cert-check-duration", "soon"))
                .hasMessage("invalid --cert-check-duration (CERT_CHECK_DURATION) \"soon\"; accepted: a duration up to 24h"
                        + " such as 75, 75s or 1m15s");
    }

    @Test
    void helpListsEverySettingWithItsVariableAndDefault() throws Exception {
        Outcome o = CommandLineParser.parse(new String[] {"--help"}, Map.of());
        // picocli wraps long defaults (…/ca.\n  crt): join continuation lines before searching.
        String help = ((Outcome.Help) o).text().replaceAll("\\n\\s+", "");
        for (Setting s : Setting.values()) {
            assertThat(help).contains("--" + s.flag()).contains("env " + s.env());
            if (s.defaultValue() != null && !s.defaultValue().isEmpty()) {
                assertThat(help).contains("default " + s.defaultValue());
            }
        }
        assertThat(help).contains("--print-config").contains("--version").contains("-v");
        assertThat(CommandLineParser.parse(new String[] {"-h"}, Map.of())).isInstanceOf(Outcome.Help.class);
        assertThat(CommandLineParser.parse(new String[] {"-help"}, Map.of())).isInstanceOf(Outcome.Help.class);
    }

    @Test
    void helpAndVersionNeedNoNodeName() throws Exception {
        Outcome o = CommandLineParser.parse(new String[] {"--version"}, Map.of());
        assertThat(((Outcome.Version) o).text()).matches("kubelet-server-cert-untaint \\S+ \\(commit \\S+\\)");
    }

    @Test
    void printConfigValidatesFirst() throws Exception {
        assertThat(CommandLineParser.parse(new String[] {"--print-config"}, NODE)).isInstanceOf(Outcome.PrintConfig.class);
        assertThatThrownBy(() -> CommandLineParser.parse(new String[] {"--print-config"}, Map.of()))
                .hasMessageContaining("--node-name (NODE_NAME)");
    }
}
