package io.github.kscu;

import io.github.kscu.agent.Agent;
import io.github.kscu.agent.Wiring;
import io.github.kscu.config.CommandLineParser;
import io.github.kscu.config.CommandLineParser.Outcome;
import io.github.kscu.config.InvalidSettingException;
import io.github.kscu.config.Setting;
import io.github.kscu.config.Settings;
import io.github.kscu.health.HealthServer;
import io.github.kscu.log.Fields;
import io.github.kscu.log.LogSetup;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;
import org.tinylog.provider.ProviderRegistry;
import sun.misc.Signal;

/**
 * The command: parse, configure logging, build the client, run one {@link Agent} and its health server.
 *
 * <p>Exit codes: 0 on SIGTERM/SIGINT, {@code --help}, {@code --version} and {@code --print-config};
 * 2 for any invalid setting (one line on stderr); 1 only for the unexpected.
 */
public final class Main {
    public static final int OK = 0;
    public static final int UNEXPECTED = 1;
    public static final int INVALID = 2;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    static int run(String[] args, Map<String, String> env, PrintStream out, PrintStream err) {
        Outcome outcome;
        try {
            outcome = CommandLineParser.parse(args, env);
        } catch (InvalidSettingException e) {
            err.println(CommandLineParser.NAME + ": " + e.getMessage());
            return INVALID;
        }
        return switch (outcome) {
            case Outcome.Help h -> print(out, h.text());
            case Outcome.Version v -> print(out, v.text() + "\n");
            case Outcome.PrintConfig p -> {
                StringBuilder b = new StringBuilder();
                p.settings().describe().forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
                yield print(out, b.toString());
            }
            case Outcome.Run r -> runAgent(r.settings(), err);
        };
    }

    private static int print(PrintStream out, String text) {
        out.print(text);
        out.flush();
        return OK;
    }

    private static int runAgent(Settings settings, PrintStream err) {
        LogSetup.configure(settings.logFormat(), settings.logLevel());
        TaggedLogger log = Logger.tag("main");
        CountDownLatch stop = new CountDownLatch(1);
        Agent agent;
        try {
            agent = Wiring.agent(settings);
        } catch (InvalidSettingException e) {
            // A kubeconfig or CA bundle that does not load: a setting, found only when the file is read.
            err.println(CommandLineParser.NAME + ": " + e.getMessage());
            return INVALID;
        }
        HealthServer health = null;
        try {
            if (settings.healthAddress() != null) {
                try {
                    health = HealthServer.start(settings.healthAddress(), agent::readiness,
                            agent.metrics().registry());
                } catch (IOException e) {
                    err.println(CommandLineParser.NAME + ": invalid " + Setting.HEALTH_ADDR.displayName() + " \""
                            + settings.healthAddress() + "\": cannot listen (" + e.getMessage()
                            + "); accepted: a free [host]:port, or off");
                    return INVALID;
                }
            }
            // Our own handlers instead of a shutdown hook: a hook cannot choose the exit code (SIGTERM
            // would exit 143), and Kubernetes reads anything but 0 on a normal stop as a failure.
            Signal.handle(new Signal("TERM"), s -> stop(stop, agent, "SIGTERM"));
            Signal.handle(new Signal("INT"), s -> stop(stop, agent, "SIGINT"));
            agent.run();
            if (stop.getCount() > 0) {
                log.info("work done, idling until stopped node={}", settings.nodeName());
                stop.await();
            }
            log.info("stopped node={}", settings.nodeName());
            return OK;
        } catch (InterruptedException e) {
            return OK;
        } catch (RuntimeException | Error e) {
            log.error(e, "unexpected failure node={} error={}", settings.nodeName(), Fields.quote(String.valueOf(e)));
            return UNEXPECTED;
        } finally {
            agent.close();
            if (health != null) {
                health.close();
            }
            try {
                ProviderRegistry.getLoggingProvider().shutdown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void stop(CountDownLatch stop, Agent agent, String signal) {
        Logger.tag("main").info("stopping signal={}", signal);
        stop.countDown();
        agent.close();
    }
}
