package io.github.kscu.it;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;

/**
 * {@link NodeConditionAttackIT} on Kubernetes 1.32, the oldest the policies support: the condition's
 * policy (its optional-field CEL, the status subresource matched), NRC's rule against the CRD, and the
 * real agent reporting through them.
 */
@ControlPlaneExtension.Options(apiserver = ControlPlane.Options.OLDEST_APISERVER)
class OldestKubernetesNodeConditionAttackIT extends NodeConditionAttackIT {
    OldestKubernetesNodeConditionAttackIT(ControlPlane cp) {
        super(cp);
    }
}
