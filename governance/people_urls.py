"""URL patterns of the teams and users page."""

from django.urls import path

from governance import people_views

urlpatterns = [
    path("people/", people_views.people, name="people"),
    path("people/save/", people_views.person_save, name="person-save"),
    path("people/teams/", people_views.team_create, name="team-create"),
]
