"""Static files in production: WhiteNoise's compressed storage with hashed names."""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Leaves the `//# sourceMappingURL=` comments of JavaScript files as they are.

    The vendored files (static/vendor/) are kept byte for byte as published, without their
    source maps; rewriting such a comment to a hashed name needs the map, so collectstatic
    failed on Chart.js. CSS references (url(), @import) are still rewritten.
    """

    patterns = tuple(
        (glob, rules) for glob, rules in ManifestStaticFilesStorage.patterns if glob != "*.js"
    )
