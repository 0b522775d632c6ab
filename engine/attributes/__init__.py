"""Face attributes in the latent space: per-image labels, how they separate, directions, subsets.

CelebA labels every image with 40 binary attributes (Smiling, Male, Eyeglasses, …). This package
attaches such labels to a model's z-points and answers "is there a direction for smiling?". One
module per idea; every name is importable from ``engine.attributes`` as well:

==============  ===================================================================================
``labels``      label files (CelebA's ``list_attr_celeba.txt`` or a CSV) → :class:`AttributeTable`
                aligned with the z-points; ``import_labels`` / ``load_labels`` / ``require_labels``
                / ``save_labels`` (``labels.csv`` beside the model); :class:`LabelReport`
``conditions``  ``--where Smiling=1,Male=-1`` → :class:`Condition` list → ``subset_mask`` /
                ``conditional_latents`` (enough points for the sampler: ``Sampler.min_points``)
``probes``      separation statistics: Cohen's d, cross-fitted separation, :class:`LinearProbe`
                and ``fit_probe`` (on ``latent_stats.Whitener`` coordinates), per-group normality
``directions``  :class:`AttributeDirection`, ``attribute_direction`` ("mean" or "probe"),
                ``edit_latents``
``ranking``     ``analyse_attribute`` (everything about one attribute), ``summarise_attributes``,
                ``ranking_table``
``rates``       the evaluation experiment: does conditional sampling produce the attribute?
                (``attribute_rates``)
==============  ===================================================================================

For the GUI (no Qt here; all functions are plain and may run in a worker thread)
--------------------------------------------------------------------------------
* ``table = load_labels(model_dir, files)`` (``None`` when the model has no ``labels.csv``);
  ``table.names``, ``table.groups(name) -> (present_mask, absent_mask)``, ``table.counts(name)``.
* colour by attribute: ``present, absent = table.groups(name)``; project with
  ``latent_stats.project(z, stats, axes)`` and split the (N, 2) points by the masks;
  ``group_moments(xy, mask)`` gives each group's 2-D mean/cov for ``latent_stats.confidence_ellipse``.
* Attributes panel: ``engine.workflows.rank_attributes.rank_attributes(z, table, pca=stats.pca, …)``
  (≈ 1–2 s of CPU per attribute with the probe on 9,000×256; ``probe=False`` is instant) → list of
  :class:`AttributeSummary` sorted by probe accuracy (by ``separation`` without the probe); each has
  ``best_axes`` for the pair plot.
* inspector slider: ``direction = attribute_direction(z, table, name)``; the slider value is the
  amount: ``edit_latents(z_face, direction, [amount])[0, 0]`` (or ``direction.apply(z, amount)``).
* "condition on" picker: ``conditions = [Condition(name, "=", 1.0), …]`` (or ``parse_where(text)``),
  ``z_fit = conditional_latents(z, table, conditions, sampler_name)`` then ``sampler.fit(z_fit)``;
  ``describe_where(conditions)`` is the text to store with the image set (``params["where"]``).
"""
from __future__ import annotations

from .conditions import (
    BINARY_VALUES, MIN_SUBSET, Condition, condition_mask, conditional_latents, describe_where, min_points_for,
    parse_where, subset_mask,
)
from .directions import (
    DEFAULT_EDIT_METHOD, EDIT_METHODS, AttributeDirection, _direction_from, _labels_for, attribute_direction,
    edit_latents, standardised_probe_weights,
)
from .labels import (
    LABELS, AttributeTable, LabelReport, _check_names, _decode_text, _format_value, _latent_files, _lines,
    _Matcher, _parse_value, has_labels, import_labels, labels_csv_text, load_labels, read_label_file,
    require_labels, save_labels, unknown_name_message,
)
from .probes import (
    GroupNormality, LinearProbe, ProbeResult, Whitener, _balanced_accuracy, _logistic, cohens_d,
    cross_fitted_separation, fit_probe, group_moments, group_normality, pca_coordinates,
)
from .ranking import AttributeAnalysis, AttributeSummary, _best_pair, analyse_attribute, ranking_table, summarise_attributes
from .rates import AttributeRate, AttributeRateReport, attribute_rates

__all__ = [
    # labels
    "LABELS", "AttributeTable", "LabelReport", "has_labels", "import_labels", "labels_csv_text", "load_labels",
    "read_label_file", "require_labels", "save_labels", "unknown_name_message",
    # conditions
    "BINARY_VALUES", "MIN_SUBSET", "Condition", "condition_mask", "conditional_latents", "describe_where",
    "min_points_for", "parse_where", "subset_mask",
    # probes
    "GroupNormality", "LinearProbe", "ProbeResult", "Whitener", "cohens_d", "cross_fitted_separation", "fit_probe",
    "group_moments", "group_normality", "pca_coordinates",
    # directions
    "DEFAULT_EDIT_METHOD", "EDIT_METHODS", "AttributeDirection", "attribute_direction", "edit_latents",
    "standardised_probe_weights",
    # ranking
    "AttributeAnalysis", "AttributeSummary", "analyse_attribute", "ranking_table", "summarise_attributes",
    # rates
    "AttributeRate", "AttributeRateReport", "attribute_rates",
]
