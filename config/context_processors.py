def navigation(request):
    """Role flags for the navigation bar; cheap (no queries for anonymous users)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {"signed_in": False}}
    from cohorts.selectors import user_roles

    roles = user_roles(user)
    return {
        "nav": {
            "signed_in": True,
            "is_staff": user.is_staff,
            "is_mentor": roles.is_mentor or user.is_staff,
            "is_learner": roles.is_learner,
        }
    }
