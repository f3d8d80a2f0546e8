package io.github.kscu.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Turns the command line and the environment into one of four outcomes. Every setting has a GNU-style
 * flag ({@code --taint-key}) and the Go sample's single-dash spelling ({@code -taint-key}), so the sample's
 * manifests keep working unchanged. Flags win over the environment, which wins over the defaults.
 */
public final class CommandLineParser {
    public static final String NAME = "kubelet-server-cert-untaint";

    /** What {@code main} should do. */
    public sealed interface Outcome {
        record Run(Settings settings) implements Outcome {
        }

        record PrintConfig(Settings settings) implements Outcome {
        }

        record Help(String text) implements Outcome {
        }

        record Version(String text) implements Outcome {
        }
    }

    private CommandLineParser() {
    }

    public static Outcome parse(String[] args, Map<String, String> env) throws InvalidSettingException {
        if (args.length == 0) {
            // The DaemonSet passes no arguments (settings come from its ConfigMap), and then picocli
            // would only confirm that no flag was given. Skipping it saves about 100 ms of start-up:
            // its classes are Java 5 bytecode, which the AOT cache cannot hold, so they are loaded,
            // verified and interpreted afresh on every start. Same result: the environment alone.
            return new Outcome.Run(Settings.fromMap(env));
        }
        CommandSpec spec = spec();
        ParseResult result;
        try {
            result = new CommandLine(spec).parseArgs(args);
        } catch (ParameterException e) {
            throw new InvalidSettingException(oneLine(e) + "; run --help for every setting");
        }
        if (result.isUsageHelpRequested()) {
            return new Outcome.Help(new CommandLine(spec).getUsageMessage());
        }
        if (result.isVersionHelpRequested()) {
            return new Outcome.Version(version());
        }
        Map<String, String> merged = new HashMap<>(env);
        String verbosity = result.matchedOptionValue("-v", null);
        if (verbosity != null) {
            merged.put(Setting.LOG_LEVEL.env(), levelForVerbosity(verbosity));
        }
        for (Setting s : Setting.values()) {
            String value = result.matchedOptionValue("--" + s.flag(), null);
            if (value != null) {
                merged.put(s.env(), value);
            }
        }
        Settings settings = Settings.fromMap(merged);
        return result.hasMatchedOption("--print-config") ? new Outcome.PrintConfig(settings) : new Outcome.Run(settings);
    }

    /** "kubelet-server-cert-untaint 0.1.0 (commit 1a2b3c4)". */
    public static String version() {
        Properties p = new Properties();
        try (InputStream in = CommandLineParser.class.getResourceAsStream("/io/github/kscu/version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return NAME + " " + p.getProperty("version", "unknown") + " (commit " + p.getProperty("commit", "unknown") + ")";
    }

    /** klog's {@code -v}, mapped as {@link Settings.LogLevel#forVerbosity} maps it. */
    static String levelForVerbosity(String raw) throws InvalidSettingException {
        return Settings.lower(Settings.LogLevel.forVerbosity(raw).orElseThrow(() -> new InvalidSettingException(
                "invalid -v \"" + raw + "\"; accepted: a verbosity 0-10 (0-2 info, 3-4 debug, 5-10 trace), or use"
                        + " --log-level")));
    }

    private static CommandSpec spec() {
        CommandSpec spec = CommandSpec.create().name(NAME);
        spec.usageMessage()
                .description("Removes this node's startup taint once the kubelet's serving certificate is valid.",
                        "Every flag also has a single-dash spelling (-taint-key) and an environment variable.")
                .sortOptions(false)
                .width(110);
        for (Setting s : Setting.values()) {
            OptionSpec.Builder b = OptionSpec.builder("--" + s.flag(), "-" + s.flag())
                    .type(String.class)
                    .paramLabel("<" + s.flag() + ">")
                    .description(s.description(), "env " + s.env() + ", default "
                            + (s.defaultValue() == null ? "none (required)" : s.defaultValue().isEmpty()
                                    ? "in-cluster" : s.defaultValue()) + "; " + s.accepted() + ".");
            if (s.isBoolean()) {
                b.arity("0..1").fallbackValue("true").paramLabel("<true|false>");
            }
            spec.addOption(b.build());
        }
        spec.addOption(OptionSpec.builder("-v", "--v").type(String.class).paramLabel("<level>")
                .description("Go-sample verbosity, mapped to --log-level: 0-2 info, 3-4 debug, 5+ trace.").build());
        spec.addOption(OptionSpec.builder("--print-config", "-print-config").arity("0")
                .description("Print the effective settings as key=value lines and exit without contacting a cluster.")
                .build());
        spec.addOption(OptionSpec.builder("-h", "--help", "-help").usageHelp(true).description("Show this help.").build());
        spec.addOption(OptionSpec.builder("--version", "-version").versionHelp(true)
                .description("Print the version and git commit.").build());
        return spec;
    }

    private static String oneLine(ParameterException e) {
        List<String> unmatched = e instanceof CommandLine.UnmatchedArgumentException u ? u.getUnmatched() : List.of();
        if (!unmatched.isEmpty()) {
            String first = unmatched.getFirst();
            return first.startsWith("-") ? "unknown flag " + first : "unexpected argument \"" + first + "\"";
        }
        return e.getMessage().replace('\n', ' ').strip();
    }
}
