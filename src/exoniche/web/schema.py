"""What the scenario builder offers, read from the public API (the web app's one coupling to the model).

Presets, physiologies, immune statuses, routes, organs and the intervention catalogue with each type's
fields; the builder turns the form into TOML and the server validates it with the same parser the CLI uses.
"""

from __future__ import annotations


def scenario_schema() -> dict:
    """Return what the scenario builder needs: presets, physiologies, routes, interventions and limits."""
    from exoniche import biology
    from exoniche.biology import ORGAN_NAMES, ORGANS
    from exoniche.biology.parameters import PHYSIOLOGIES
    from exoniche.biology.presets import DRAINAGE, tumour_presets
    from exoniche.experiments.interventions import catalogue, fields_of
    from exoniche.experiments.scenario import DEFAULT_REPLICATES, DEFAULT_SEED, MAX_DURATION_DAYS
    from exoniche.experiments.setup import ROUTES

    interventions = {}
    for name, entry in catalogue().items():
        eff = entry.get("effect", {})
        interventions[name] = {"label": entry.get("label", name), "description": entry.get("description", ""),
                               "refs": entry.get("refs", ""), "fields": list(fields_of(name)),
                               "effect_unit": eff.get("unit"), "min": eff.get("min"), "max": eff.get("max"),
                               "targets": entry.get("targets")}
    presets = {name: {"description": p.description, "cancer_type": p.cancer_type, "drainage": p.drainage}
               for name, p in tumour_presets().items()}
    return {"presets": presets, "physiologies": list(PHYSIOLOGIES), "immune_status": list(biology.IMMUNE_STATUS),
            "routes": list(ROUTES), "drainage": list(DRAINAGE), "organs": {o: ORGAN_NAMES[o] for o in ORGANS},
            "interventions": interventions, "defaults": {"seed": DEFAULT_SEED, "replicates": DEFAULT_REPLICATES},
            "max_duration_days": MAX_DURATION_DAYS}
