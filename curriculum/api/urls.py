# Track and lab reads are served from cohorts/api (they depend on memberships); this app's
# API holds the curriculum imports.
urlpatterns: list = []
