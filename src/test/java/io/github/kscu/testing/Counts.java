package io.github.kscu.testing;

import io.github.kscu.report.Metrics;
import io.github.kscu.report.Reason;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.util.function.Predicate;

/** Counters of an agent's {@link Metrics}, read the way Prometheus reads them: from a scrape of its registry. */
public final class Counts {
    private Counts() {
    }

    /** {@code kscu_api_requests_total} with this verb, all codes. */
    public static long requests(Metrics m, String verb) {
        return sum(m, "kscu_api_requests", p -> verb.equals(p.getLabels().get("verb")));
    }

    /** {@code kscu_api_requests_total} with this verb and code. */
    public static long requests(Metrics m, String verb, String code) {
        return sum(m, "kscu_api_requests",
                p -> verb.equals(p.getLabels().get("verb")) && code.equals(p.getLabels().get("code")));
    }

    /** {@code kscu_outcomes_total} with this reason. */
    public static long outcomes(Metrics m, Reason reason) {
        return sum(m, "kscu_outcomes", p -> reason.value().equals(p.getLabels().get("reason")));
    }

    private static long sum(Metrics m, String name, Predicate<CounterDataPointSnapshot> which) {
        long total = 0;
        for (MetricSnapshot s : m.registry().scrape()) {
            if (!name.equals(s.getMetadata().getPrometheusName())) {
                continue;
            }
            for (CounterDataPointSnapshot p : ((CounterSnapshot) s).getDataPoints()) {
                if (which.test(p)) {
                    total += (long) p.getValue();
                }
            }
        }
        return total;
    }
}
