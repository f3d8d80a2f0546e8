package io.github.kscu.report;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The agent's metrics, in a registry of its own: many agents can run in one JVM (tests, benchmarks)
 * without sharing counters. {@code Main} serves the registry of its single agent.
 */
public final class Metrics {
    private static final double[] LATENCY_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
        30, 60, 120, 300, 600};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Counter outcomes;
    private final Gauge state;
    /** The start-up check's verdict; null until known (and with the check off), so nothing is exported. */
    private final AtomicReference<Boolean> admissionPolicy = new AtomicReference<>();
    private final Histogram timeToCert;
    private final Histogram certToUntaint;
    private final AtomicReference<Instant> certNotAfter = new AtomicReference<>();
    private volatile State current;

    public Metrics(Supplier<Instant> now) {
        // Without exemplars: they tie samples to OpenTelemetry traces, which the agent has none of, and each
        // metric with them looks for a tracer and shares a scheduler thread that rate-limits sampling.
        requests = Counter.builder().name("kscu_api_requests_total")
                .help("Kubernetes API requests by verb and HTTP status (no-response when there was none).")
                .labelNames("verb", "code").withoutExemplars().register(registry);
        outcomes = Counter.builder().name("kscu_outcomes_total")
                .help("Outcomes, by the reason also used for Events and logs.")
                .labelNames("reason").withoutExemplars().register(registry);
        // Three outcomes also have a counter of their own (alerts and dashboards use them); read from the
        // outcome counter, not counted twice.
        outcomeCounter("kscu_taint_removals_total", "Successful removals of the configured taint(s), re-removals"
                + " included.", Reason.STARTUP_TAINT_REMOVED);
        outcomeCounter("kscu_taint_readds_total", "Times the configured taint came back after it had been removed.",
                Reason.STARTUP_TAINT_READDED);
        outcomeCounter("kscu_cert_timeouts_total", "Times the serving certificate was not valid within"
                + " --cert-check-duration.", Reason.SERVING_CERTIFICATE_TIMEOUT);
        state = Gauge.builder().name("kscu_state").help("1 for the agent's current state, 0 for the others.")
                .labelNames("state").withoutExemplars().register(registry);
        GaugeWithCallback.builder().name("kscu_admission_policy_enforced")
                .help("1 if the start-up dry run of a forbidden change was refused (the admission policy is in"
                        + " force), 0 if it was allowed; absent until known, and with the check off.")
                .callback(cb -> {
                    Boolean enforced = admissionPolicy.get();
                    if (enforced != null) {
                        cb.call(enforced ? 1 : 0);
                    }
                }).register(registry);
        timeToCert = Histogram.builder().name("kscu_time_to_cert_seconds")
                .help("From agent start to the serving certificate first being valid.")
                .classicUpperBounds(LATENCY_BUCKETS).classicOnly().withoutExemplars().register(registry);
        certToUntaint = Histogram.builder().name("kscu_cert_to_untaint_seconds")
                .help("From the serving certificate being valid to the taint being removed (read back).")
                .classicUpperBounds(LATENCY_BUCKETS).classicOnly().withoutExemplars().register(registry);
        GaugeWithCallback.builder().name("kscu_serving_cert_expiry_seconds")
                .help("Seconds until the serving certificate seen last expires (negative: expired).")
                .callback(cb -> {
                    Instant notAfter = certNotAfter.get();
                    if (notAfter != null) {
                        cb.call(Duration.between(now.get(), notAfter).toMillis() / 1000.0);
                    }
                }).register(registry);
        for (State s : State.values()) {
            state.labelValues(s.label()).set(0);
        }
        for (Reason r : Reason.values()) {
            outcomes.labelValues(r.value()).inc(0);
        }
    }

    private void outcomeCounter(String name, String help, Reason reason) {
        CounterDataPoint outcome = outcomes.labelValues(reason.value());
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(outcome.get())).register(registry);
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    public void request(String verb, String code) {
        requests.labelValues(verb, code).inc();
    }

    public void outcome(Reason reason) {
        outcomes.labelValues(reason.value()).inc();
    }

    public void state(State next) {
        State previous = current;
        if (previous == next) {
            return;
        }
        if (previous != null) {
            state.labelValues(previous.label()).set(0);
        }
        state.labelValues(next.label()).set(1);
        current = next;
    }

    /** The start-up check's verdict: is the admission policy in force? */
    public void admissionPolicyEnforced(boolean enforced) {
        admissionPolicy.set(enforced);
    }

    public void timeToCert(Duration d) {
        timeToCert.observe(d.toNanos() / 1e9);
    }

    public void certToUntaint(Duration d) {
        certToUntaint.observe(d.toNanos() / 1e9);
    }

    public void certNotAfter(Instant notAfter) {
        certNotAfter.set(notAfter);
    }
}
