package io.github.kscu.e2e;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Runs the e2e scenarios ({@code e2e/run.sh PROVIDER}: image, cluster, the {@code .bats} files, clean-up)
 * and reports every bats {@code @test} as a test case of its own, named "[pass] description", with the
 * test's output as the failure message. Set-up and clean-up failures (cluster not up, something left
 * behind) are test cases too, so a run that could not test anything is red, never empty.
 *
 * <p>Not part of {@code make test}: {@code make e2e-node} (provider local-node, root) and {@code make e2e}
 * (kind, Docker) run it through the Maven profile {@code e2e} with {@code -Dkscu.e2e.provider=...}.
 */
class E2eScenariosIT {
    private static final Pattern PLAN = Pattern.compile("^1\\.\\.(\\d+)$");
    private static final Pattern RESULT = Pattern.compile("^(ok|not ok) (\\d+) (.*?)(?: # (skip|todo)\\b(.*))?$");

    @TestFactory
    List<DynamicTest> scenarios() throws Exception {
        String provider = System.getProperty("kscu.e2e.provider", "local-node");
        Path out = Path.of("target", "e2e", provider).toAbsolutePath();
        Path runLog = Path.of("target", "e2e", provider + "-run.log").toAbsolutePath();
        Files.createDirectories(runLog.getParent());

        int exit = run(List.of("bash", "e2e/run.sh", provider), runLog);
        String log = Files.readString(runLog);
        List<DynamicTest> tests = new ArrayList<>();
        boolean anyFailed = false;
        // Every pass run.sh ran left PASS.tap; in the order they ran.
        List<Path> taps;
        try (Stream<Path> files = Files.exists(out) ? Files.list(out) : Stream.empty()) {
            taps = files.filter(f -> f.toString().endsWith(".tap"))
                    .sorted(Comparator.comparing(E2eScenariosIT::modified)).toList();
        }
        for (Path tap : taps) {
            String pass = tap.getFileName().toString().replaceFirst("\\.tap$", "");
            for (Result r : parse(Files.readAllLines(tap))) {
                anyFailed |= !r.passed();
                tests.add(DynamicTest.dynamicTest("[" + pass + "] " + r.name(), () -> {
                    if (!r.passed()) {
                        fail(r.name() + "\n" + String.join("\n", r.diagnostics()) + "\n" + dump(log));
                    }
                }));
            }
        }
        if (tests.isEmpty() || (exit != 0 && !anyFailed)) {
            // Set-up or clean-up failed (the log says which): that is a failure of its own.
            String when = tests.isEmpty() ? " before any scenario ran" : "";
            tests.add(DynamicTest.dynamicTest("e2e/run.sh " + provider + " set-up and clean-up", () ->
                    fail("e2e/run.sh " + provider + " exited " + exit + when + "; full log: " + runLog + "\n"
                            + tail(log, 80))));
        }
        return tests;
    }

    /** Runs the command, its output on the console and in a log file; returns its exit code. */
    private static int run(List<String> command, Path logFile) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.INHERIT)
                .start();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
                PrintWriter file = new PrintWriter(Files.newBufferedWriter(logFile, StandardCharsets.UTF_8))) {
            for (String line; (line = in.readLine()) != null; ) {
                System.out.println(line);
                file.println(line);
            }
        } finally {
            if (p.isAlive()) {
                p.destroy(); // run.sh cleans up on SIGTERM
            }
        }
        return p.waitFor();
    }

    record Result(String name, boolean passed, List<String> diagnostics) {
    }

    /**
     * TAP from {@code bats --tap}: one result per planned test. A test with no result line (bats was
     * killed) and a skipped test are failures: a scenario that did not run proved nothing.
     */
    static List<Result> parse(List<String> lines) {
        List<Result> results = new ArrayList<>();
        int planned = -1;
        for (String line : lines) {
            Matcher plan = PLAN.matcher(line);
            Matcher result = RESULT.matcher(line);
            if (plan.matches()) {
                planned = Integer.parseInt(plan.group(1));
            } else if (result.matches()) {
                boolean skipped = result.group(4) != null;
                List<String> diagnostics = new ArrayList<>();
                if (skipped) {
                    diagnostics.add("skipped:" + result.group(5) + " (an e2e scenario must run)");
                }
                results.add(new Result(result.group(3), "ok".equals(result.group(1)) && !skipped, diagnostics));
            } else if (line.startsWith("#") && !results.isEmpty()) {
                results.getLast().diagnostics().add(line.replaceFirst("^# ?", ""));
            }
        }
        for (int n = results.size() + 1; n <= planned; n++) {
            results.add(new Result("test " + n + " of " + planned + " (no result: the run was cut short)", false,
                    new ArrayList<>()));
        }
        return results;
    }

    private static FileTime modified(Path file) {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The state and logs run.sh printed after a failure, if any. */
    private static String dump(String log) {
        int at = log.indexOf("=== e2e failed on");
        return at < 0 ? "" : log.substring(at);
    }

    private static String tail(String text, int lines) {
        String[] all = text.split("\n");
        int from = Math.max(0, all.length - lines);
        return String.join("\n", Arrays.copyOfRange(all, from, all.length));
    }
}
