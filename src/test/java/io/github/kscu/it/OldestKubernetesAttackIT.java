package io.github.kscu.it;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;

/**
 * {@link DefaultInstallAttackIT} on the oldest Kubernetes the admission policy supports (1.32: the
 * ServiceAccount token's node-name claim is GA there), with its own kube-apiserver built by
 * {@code make tools}; etcd and kubectl are the pinned ones.
 */
@ControlPlaneExtension.Options(apiserver = ControlPlane.Options.OLDEST_APISERVER)
class OldestKubernetesAttackIT extends DefaultInstallAttackIT {
    OldestKubernetesAttackIT(ControlPlane cp) {
        super(cp);
    }
}
