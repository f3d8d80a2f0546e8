package io.github.kscu.testing;

import io.github.kscu.report.Metrics;
import io.github.kscu.report.Reason;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.util.List;
import java.util.function.Predicate;

/** An agent's {@link Metrics}, read the way Prometheus reads them: from a scrape of its registry. */
public final class Scraped {
    private Scraped() {
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

    /** A gauge without labels, or {@code null} while it is not exported. */
    public static Double gauge(Metrics m, String name) {
        MetricSnapshot s = scrape(m, name);
        return s == null || s.getDataPoints().isEmpty() ? null
                : ((GaugeSnapshot) s).getDataPoints().getFirst().getValue();
    }

    private static long sum(Metrics m, String name, Predicate<CounterDataPointSnapshot> which) {
        MetricSnapshot s = scrape(m, name);
        long total = 0;
        for (CounterDataPointSnapshot p : s == null ? List.<CounterDataPointSnapshot>of()
                : ((CounterSnapshot) s).getDataPoints()) {
            if (which.test(p)) {
                total += (long) p.getValue();
            }
        }
        return total;
    }

    /** One metric by its name without {@code _total}; only that one is collected (benchmarks poll this). */
    private static MetricSnapshot scrape(Metrics m, String name) {
        for (MetricSnapshot s : m.registry().scrape(name::equals)) {
            if (name.equals(s.getMetadata().getPrometheusName())) {
                return s;
            }
        }
        return null;
    }
}
