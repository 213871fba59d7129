"""Swagger UI that works under the site's Content-Security-Policy without relaxing it.

drf-spectacular's split view serves the initialisation script as its own resource
(`?script`), and our template drops the stock page's inline <style>, so the page needs
nothing beyond `script-src 'self'` and `style-src 'self'`.
"""

from drf_spectacular.views import SpectacularSwaggerSplitView


class ApiDocsView(SpectacularSwaggerSplitView):
    template_name = "accounts/api_docs.html"
    url_name = "api-schema"
    title = "Cohort Labs API"
